//! A gRPC client with no gRPC library: bare HTTP/2 streams, so tests can
//! send what a hostile or careless client sends (headers and no body, bytes
//! that are no message, no key) and read the status the server answers.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use h2::SendStream;
use h2::client::{ResponseFuture, SendRequest};
use tonic::Code;
use tonic_types::StatusExt;

/// How long a test waits for the server to answer a raw call.
pub(crate) const ANSWER_BOUND: Duration = Duration::from_secs(10);

/// One HTTP/2 connection to a server's gRPC port.
pub(crate) struct RawGrpc {
    client: SendRequest<Bytes>,
    addr: SocketAddr,
}

/// What the server answered a raw call.
#[derive(Debug)]
pub(crate) struct RawAnswer {
    /// The `grpc-status`.
    pub(crate) code: Code,
    /// The ErrorInfo's reason, if the status carries one.
    pub(crate) reason: Option<String>,
}

/// A message body as gRPC frames it: uncompressed, length-prefixed.
pub(crate) fn frame(message: &[u8]) -> Bytes {
    let mut framed = Vec::with_capacity(message.len() + 5);
    framed.push(0);
    framed.extend_from_slice(&(message.len() as u32).to_be_bytes());
    framed.extend_from_slice(message);
    framed.into()
}

impl RawGrpc {
    /// Opens a connection to `addr`.
    pub(crate) async fn connect(addr: SocketAddr) -> RawGrpc {
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (client, connection) = h2::client::handshake(tcp).await.unwrap();
        tokio::spawn(connection);
        RawGrpc { client, addr }
    }

    /// The streams the server lets this connection open at once, as its
    /// SETTINGS said (known once the first call has been answered).
    pub(crate) fn max_streams(&self) -> usize {
        self.client.current_max_send_streams()
    }

    /// Sends the headers of a call to `path` (with the key when given), and
    /// nothing else yet: the body is the caller's to send, or not.
    pub(crate) async fn start(
        &mut self,
        path: &str,
        secret: Option<&str>,
    ) -> (ResponseFuture, SendStream<Bytes>) {
        self.start_with(path, secret, &[]).await
    }

    /// [`RawGrpc::start`] with more headers.
    pub(crate) async fn start_with(
        &mut self,
        path: &str,
        secret: Option<&str>,
        headers: &[(&str, &str)],
    ) -> (ResponseFuture, SendStream<Bytes>) {
        let mut request = http::Request::builder()
            .method("POST")
            .uri(format!("http://{}{path}", self.addr))
            .header("content-type", "application/grpc")
            .header("te", "trailers");
        if let Some(secret) = secret {
            request = request.header("authorization", format!("Bearer {secret}"));
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let client = self.client.clone().ready().await.unwrap();
        self.client = client;
        self.client
            .send_request(request.body(()).unwrap(), false)
            .unwrap()
    }

    /// A whole call: headers, then `body` as sent (not framed here), then
    /// the answer.
    pub(crate) async fn call(
        &mut self,
        path: &str,
        secret: Option<&str>,
        body: Bytes,
    ) -> RawAnswer {
        let (response, mut stream) = self.start(path, secret).await;
        // The server may answer (and reset the stream) before the body is
        // in; a failed send is then no error of the test's.
        let _ = stream.send_data(body, true);
        answer_of(response).await
    }
}

/// The status of a call's answer: from its headers when it is
/// trailers-only (an error answered at once), else from its trailers, the
/// body drained. A stream that goes on answering (WatchCounters) is read
/// no further than its headers: it is OK.
pub(crate) async fn answer_of(response: ResponseFuture) -> RawAnswer {
    let response = tokio::time::timeout(ANSWER_BOUND, response)
        .await
        .expect("the server answers in time")
        .expect("the server answers the stream, not resets it");
    assert_eq!(response.status(), http::StatusCode::OK);
    let (head, mut body) = response.into_parts();
    if head.headers.contains_key("grpc-status") {
        return status_of(&head.headers);
    }
    let drained = tokio::time::timeout(Duration::from_millis(500), async {
        while let Some(data) = body.data().await {
            data.unwrap();
        }
        body.trailers().await.unwrap().expect("trailers")
    })
    .await;
    match drained {
        Ok(trailers) => status_of(&trailers),
        // A stream that goes on answering.
        Err(_) => RawAnswer {
            code: Code::Ok,
            reason: None,
        },
    }
}

/// The status a response's headers (or trailers) carry.
fn status_of(headers: &http::HeaderMap) -> RawAnswer {
    let status = tonic::Status::from_header_map(headers).expect("a grpc-status");
    RawAnswer {
        code: status.code(),
        reason: status.get_details_error_info().map(|info| info.reason),
    }
}
