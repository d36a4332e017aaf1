//! `--output table|json`: how a client command prints what the server
//! answered. A table is drawn by the command (see `table`); JSON is the
//! answer itself in the protobuf JSON mapping (every field present, 64-bit
//! integers as strings, enums by name), written by the same code as the
//! HTTP port's answers, one message a line: one line for a call, one a
//! message for a stream (`watch`), and one a page for a walk over pages
//! (`commissions --all`), each page with its `nextPageToken`.

use std::sync::LazyLock;

use prost_reflect::DescriptorPool;

/// What `--output` takes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// Tables for people.
    #[default]
    Table,
    /// The answer in the protobuf JSON mapping, one message a line.
    Json,
}

/// The descriptors of every message a command may print: the contract's
/// and the health service's.
static POOL: LazyLock<DescriptorPool> = LazyLock::new(|| {
    let mut pool = DescriptorPool::decode(crate::proto::FILE_DESCRIPTOR_SET)
        .expect("the build's descriptor set decodes");
    pool.decode_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .expect("the health service's descriptor set decodes");
    pool
});

/// `message`, of the protobuf type `full_name`, as one line of JSON.
pub(super) fn json_line<T: prost::Message>(full_name: &str, message: &T) -> Result<String, String> {
    let descriptor = POOL
        .get_message_by_name(full_name)
        .ok_or_else(|| format!("no descriptor for {full_name}"))?;
    let bytes =
        crate::api::http::to_json(&descriptor, message).map_err(|s| s.message().to_owned())?;
    String::from_utf8(bytes).map_err(|e| e.to_string())
}

/// Prints `message` as `format` says: one JSON line, or what `table` draws.
pub(super) fn print<T: prost::Name>(
    format: Format,
    message: &T,
    table: impl FnOnce(&T),
) -> Result<(), String> {
    match format {
        Format::Json => println!("{}", json_line(&T::full_name(), message)?),
        Format::Table => table(message),
    }
    Ok(())
}

/// Prints the pages of a walk: a JSON line a page, or what `table` draws
/// of them all.
pub(super) fn print_pages<T: prost::Name>(
    format: Format,
    pages: &[T],
    table: impl FnOnce(&[T]),
) -> Result<(), String> {
    match format {
        Format::Json => {
            for page in pages {
                println!("{}", json_line(&T::full_name(), page)?);
            }
        }
        Format::Table => table(pages),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto;

    #[test]
    fn json_is_the_protobuf_mapping_on_one_line_with_every_field() {
        let response = proto::ReverseSaleResponse {
            remaining: Some(proto::Money {
                currency_code: "DKK".into(),
                amount_minor: 7500,
            }),
            replayed: false,
            ..Default::default()
        };
        let line = json_line(
            &<proto::ReverseSaleResponse as prost::Name>::full_name(),
            &response,
        )
        .unwrap();
        assert!(!line.contains('\n'), "{line}");
        let json: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(json["remaining"]["currencyCode"], "DKK");
        assert_eq!(json["remaining"]["amountMinor"], "7500");
        assert_eq!(json["replayed"], false);
    }

    #[test]
    fn the_health_answer_has_a_descriptor_too() {
        let response = tonic_health::pb::HealthCheckResponse {
            status: tonic_health::pb::health_check_response::ServingStatus::Serving as i32,
        };
        let line = json_line("grpc.health.v1.HealthCheckResponse", &response).unwrap();
        assert_eq!(line, r#"{"status":"SERVING"}"#);
    }
}
