//! The protobuf JSON mapping at the HTTP port: a POST's body or a GET's
//! query string read into the request message of the route's RPC, and its
//! answer written back, through prost-reflect over the same descriptors the
//! gRPC server reflects. A bad body or query is refused naming the proto
//! field it is in (INVALID_FIELD), or as MALFORMED_REQUEST when it is no
//! JSON object or gives a key twice (see [`UniqueKeys`]).

use prost_reflect::{DynamicMessage, MessageDescriptor, SerializeOptions};

use super::unique_keys::UniqueKeys;
use crate::error::Error;

/// Reads a JSON body in the protobuf JSON mapping (field names in camelCase
/// or as in the proto, 64-bit integers as strings or numbers, enums by name).
/// An empty body is the empty message, so a missing field is named as such.
pub(super) fn from_json<T: prost::Message + Default>(
    descriptor: &MessageDescriptor,
    body: &[u8],
) -> Result<T, Error> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        body
    };
    let UniqueKeys(json) = serde_json::from_slice(body)
        .map_err(|e| Error::MalformedRequest(format!("not valid JSON: {e}")))?;
    if !json.is_object() {
        return Err(Error::MalformedRequest("not a JSON object".into()));
    }
    check_fields(descriptor, &json, "")?;
    let message = read(descriptor, json)?;
    transcode(&message)
}

/// Refuses a key of `json` that is no field of the message (nor of its
/// nested messages), naming it dotted from `prefix` (INVALID_FIELD), and a
/// field given under both its names (`orderId` and `order_id`:
/// MALFORMED_REQUEST, as for a key given twice). Told apart here, because
/// the protobuf JSON reader refuses an unknown field before the path to it
/// is known.
fn check_fields(
    descriptor: &MessageDescriptor,
    json: &serde_json::Value,
    prefix: &str,
) -> Result<(), Error> {
    let serde_json::Value::Object(object) = json else {
        return Ok(());
    };
    let mut seen = Vec::with_capacity(object.len());
    for (key, value) in object {
        let Some(field) = field_named(descriptor, key) else {
            return Err(Error::invalid_field(
                format!("{prefix}{key}"),
                "not a field of this call",
            ));
        };
        if seen.contains(&field.number()) {
            return Err(Error::MalformedRequest(format!(
                "{prefix}{} is given twice",
                field.name()
            )));
        }
        seen.push(field.number());
        let Some(nested) = field.kind().as_message().cloned() else {
            continue;
        };
        if field.is_list() || field.is_map() || nested.full_name().starts_with("google.protobuf.") {
            continue;
        }
        check_fields(&nested, value, &format!("{prefix}{}.", field.name()))?;
    }
    Ok(())
}

/// Reads a query string into a message: each parameter a field of the
/// request (camelCase or as in the proto), with its value as the JSON
/// mapping would have it in a string.
pub(super) fn from_query<T: prost::Message + Default>(
    descriptor: &MessageDescriptor,
    query: &str,
) -> Result<T, Error> {
    let mut object = serde_json::Map::new();
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        let field = field_named(descriptor, &key)
            .ok_or_else(|| Error::invalid_field(key.as_ref(), "not a parameter of this call"))?;
        if field.is_list() || field.is_map() {
            return Err(Error::invalid_field(
                field.name(),
                "cannot be given in a query",
            ));
        }
        let value = serde_json::Value::String(value.into_owned());
        if object.insert(field.json_name().to_owned(), value).is_some() {
            return Err(Error::invalid_field(field.name(), "given more than once"));
        }
    }
    let message = read(descriptor, serde_json::Value::Object(object))?;
    transcode(&message)
}

/// A message in the protobuf JSON mapping from any serde source; an error
/// names the field it is in.
fn read<'de, D: serde::Deserializer<'de>>(
    descriptor: &MessageDescriptor,
    source: D,
) -> Result<DynamicMessage, Error> {
    let mut track = serde_path_to_error::Track::new();
    DynamicMessage::deserialize(
        descriptor.clone(),
        serde_path_to_error::Deserializer::new(source, &mut track),
    )
    .map_err(|e| Error::invalid_field(field_path(descriptor, &track.path()), e.to_string()))
}

/// The generated type of a dynamic message: both come from the same
/// descriptors, so this fails only on a broken build.
fn transcode<T: prost::Message + Default>(message: &DynamicMessage) -> Result<T, Error> {
    T::decode(prost::Message::encode_to_vec(message).as_slice())
        .map_err(|e| Error::invalid_field("body", e.to_string()))
}

/// A message's field by its JSON name (`orderId`) or its proto name
/// (`order_id`), as the protobuf JSON mapping reads them.
fn field_named(
    descriptor: &MessageDescriptor,
    name: &str,
) -> Option<prost_reflect::FieldDescriptor> {
    descriptor
        .get_field_by_json_name(name)
        .or_else(|| descriptor.get_field_by_name(name))
}

/// The proto field path (`amount.currency_code`) of a JSON path
/// (`amount.currencyCode`), for `ErrorInfo.metadata["field"]`.
fn field_path(descriptor: &MessageDescriptor, path: &serde_path_to_error::Path) -> String {
    let mut names = Vec::new();
    let mut message = Some(descriptor.clone());
    for segment in path.iter() {
        match segment {
            serde_path_to_error::Segment::Map { key } => {
                let field = message.as_ref().and_then(|m| field_named(m, key));
                names.push(field.as_ref().map_or(key.as_str(), |f| f.name()).to_owned());
                message = field.and_then(|f| f.kind().as_message().cloned());
            }
            serde_path_to_error::Segment::Seq { index } => {
                if let Some(last) = names.last_mut() {
                    last.push_str(&format!("[{index}]"));
                }
            }
            _ => {}
        }
    }
    if names.is_empty() {
        "body".to_owned()
    } else {
        names.join(".")
    }
}

/// Writes a response message in the protobuf JSON mapping, every field
/// present (a `false` or `0` is written, not left out), on one line.
pub(crate) fn to_json<T: prost::Message>(
    descriptor: &MessageDescriptor,
    message: &T,
) -> Result<Vec<u8>, tonic::Status> {
    let internal = |e: &dyn std::fmt::Display| {
        tracing::error!(error = %e, "cannot write a response as JSON");
        tonic::Status::internal("cannot write the response")
    };
    let dynamic = DynamicMessage::decode(descriptor.clone(), message.encode_to_vec().as_slice())
        .map_err(|e| internal(&e))?;
    let mut json = serde_json::Serializer::new(Vec::new());
    dynamic
        .serialize_with_options(
            &mut json,
            &SerializeOptions::new().skip_default_fields(false),
        )
        .map_err(|e| internal(&e))?;
    Ok(json.into_inner())
}

#[cfg(test)]
mod tests {
    use prost_reflect::DescriptorPool;

    use super::*;

    fn pool() -> DescriptorPool {
        DescriptorPool::decode(crate::proto::FILE_DESCRIPTOR_SET).unwrap()
    }

    fn message(name: &str) -> MessageDescriptor {
        pool().get_message_by_name(name).unwrap()
    }

    #[test]
    fn a_body_reads_in_the_protobuf_json_mapping() {
        let request: crate::proto::ConfirmSaleRequest = from_json(
            &message("cartclick.v1.ConfirmSaleRequest"),
            br#"{"token": "t", "order_id": "o-1", "amount": {"currencyCode": "DKK", "amountMinor": "12900"}}"#,
        )
        .unwrap();
        assert_eq!(request.token, "t");
        assert_eq!(request.order_id, "o-1");
        let amount = request.amount.unwrap();
        assert_eq!(
            (amount.currency_code.as_str(), amount.amount_minor),
            ("DKK", 12900)
        );
    }

    #[test]
    fn a_bad_body_names_the_field_as_the_proto_does() {
        let descriptor = message("cartclick.v1.ConfirmSaleRequest");
        let cases: [(&[u8], &str); 4] = [
            (
                br#"{"amount": {"amountMinor": "lots"}}"#,
                "amount.amount_minor",
            ),
            (br#"{"orderId": 7}"#, "order_id"),
            (br#"{"color": "red"}"#, "color"),
            (br#"{"amount": {"cents": 1}}"#, "amount.cents"),
        ];
        for (body, field) in cases {
            let error =
                from_json::<crate::proto::ConfirmSaleRequest>(&descriptor, body).unwrap_err();
            match error {
                Error::InvalidField { field: named, .. } => {
                    assert_eq!(named, field, "{}", String::from_utf8_lossy(body))
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn bodies_that_are_no_json_object_or_give_a_key_twice_are_malformed() {
        let descriptor = message("cartclick.v1.ConfirmSaleRequest");
        for body in [
            b"{".as_slice(),
            br#"{"token": "t"} trailing"#,
            b"[1, 2]",
            b"\"text\"",
            br#"{"token": "a", "token": "b"}"#,
            br#"{"orderId": "a", "order_id": "b"}"#,
            br#"{"amount": {"currencyCode": "DKK", "currencyCode": "EUR"}}"#,
            br#"{"amount": {"amountMinor": "1", "amount_minor": "2"}}"#,
        ] {
            let error =
                from_json::<crate::proto::ConfirmSaleRequest>(&descriptor, body).unwrap_err();
            assert!(
                matches!(error, Error::MalformedRequest(_)),
                "{}: {error:?}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn an_empty_body_is_the_empty_message() {
        let request: crate::proto::ConfirmSaleRequest =
            from_json(&message("cartclick.v1.ConfirmSaleRequest"), b" \n").unwrap();
        assert_eq!(request, crate::proto::ConfirmSaleRequest::default());
    }

    #[test]
    fn a_query_reads_enums_by_name_and_timestamps_as_rfc3339() {
        let request: crate::proto::GetCountersRequest = from_query(
            &message("cartclick.v1.GetCountersRequest"),
            "dimension=DIMENSION_CAMPAIGN&id=c%201&granularity=GRANULARITY_DAY\
             &startTime=2026-11-01T00:00:00Z&end_time=2026-11-03T00:00:00Z",
        )
        .unwrap();
        assert_eq!(request.dimension, crate::proto::Dimension::Campaign as i32);
        assert_eq!(request.id, "c 1");
        assert_eq!(request.granularity, crate::proto::Granularity::Day as i32);
        assert_eq!(request.start_time.unwrap().seconds, 1_793_491_200);
        assert_eq!(
            request.end_time.unwrap().seconds,
            1_793_491_200 + 2 * 86_400
        );
    }

    #[test]
    fn a_bad_query_names_the_parameter() {
        let descriptor = message("cartclick.v1.GetCountersRequest");
        for (query, field) in [
            ("color=red", "color"),
            ("id=a&id=b", "id"),
            ("dimension=DIMENSION_NOPE", "dimension"),
            ("startTime=yesterday", "start_time"),
        ] {
            match from_query::<crate::proto::GetCountersRequest>(&descriptor, query) {
                Err(Error::InvalidField { field: named, .. }) => {
                    assert_eq!(named, field, "{query}")
                }
                other => panic!("{query}: {other:?}"),
            }
        }
    }

    #[test]
    fn an_answer_writes_every_field_in_the_json_mapping() {
        let response = crate::proto::ReverseSaleResponse {
            remaining: Some(crate::proto::Money {
                currency_code: "EUR".into(),
                amount_minor: 0,
            }),
            replayed: false,
            commission_remaining: Some(crate::proto::Money {
                currency_code: "EUR".into(),
                amount_minor: 0,
            }),
        };
        let json = to_json(&message("cartclick.v1.ReverseSaleResponse"), &response).unwrap();
        let value: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(
            value,
            serde_json::json!({
                "remaining": {"currencyCode": "EUR", "amountMinor": "0"},
                "replayed": false,
                "commissionRemaining": {"currencyCode": "EUR", "amountMinor": "0"}
            })
        );
    }
}
