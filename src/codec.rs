//! The protobuf codec of the generated services and clients: prost's own,
//! except that a message that does not decode (invalid UTF-8 in a string, a
//! wrong wire type, a truncated field) is INVALID_ARGUMENT with reason
//! MALFORMED_REQUEST and its ErrorInfo, where tonic answers INTERNAL: bad
//! bytes from a client are the client's error, and must not page anyone.

use std::marker::PhantomData;

use prost::Message;
use tonic::Status;
use tonic::codec::{BufferSettings, DecodeBuf, Decoder};
use tonic_prost::{ProstCodec, ProstEncoder};

use crate::error::Error;

/// [`ProstCodec`] with decode errors as MALFORMED_REQUEST (named by
/// `build.rs` as the codec of every generated service and client).
#[derive(Debug, Clone)]
pub(crate) struct Codec<T, U>(PhantomData<(T, U)>);

impl<T, U> Default for Codec<T, U> {
    fn default() -> Self {
        Codec(PhantomData)
    }
}

impl<T, U> tonic::codec::Codec for Codec<T, U>
where
    T: Message + Send + 'static,
    U: Message + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = ProstEncoder<T>;
    type Decoder = MessageDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        ProstCodec::<T, U>::raw_encoder(BufferSettings::default())
    }

    fn decoder(&mut self) -> Self::Decoder {
        MessageDecoder(PhantomData)
    }
}

/// Decodes one `U`; a message that is not a `U` is MALFORMED_REQUEST.
#[derive(Debug)]
pub(crate) struct MessageDecoder<U>(PhantomData<U>);

impl<U: Message + Default> Decoder for MessageDecoder<U> {
    type Item = U;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
        U::decode(buf).map(Some).map_err(|e| {
            Error::MalformedRequest(format!("not a valid protobuf message: {e}")).into()
        })
    }
}
