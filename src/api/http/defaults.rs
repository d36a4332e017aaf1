//! What the HTTP routes default that gRPC requires (API.md, "HTTP"): the
//! CLI's defaults, so a dashboard's first `GET /v1/counters?dimension=…&id=…`
//! answers. An omitted granularity means hourly; an omitted range (neither
//! `startTime` nor `endTime`) the current UTC day; an omitted metric clicks;
//! an omitted day today; an omitted limit 10. Over gRPC the same omissions
//! stay INVALID_FIELD: a program names what it wants.

use chrono::{DateTime, Days, Utc};

use crate::proto::{GetCountersRequest, Granularity, ListTopRequest, TopMetric};

/// Fills what a GetCounters query left out, with `now` for "today".
pub(super) fn get_counters(request: &mut GetCountersRequest, now: DateTime<Utc>) {
    if request.granularity == Granularity::Unspecified as i32 {
        request.granularity = Granularity::Hour as i32;
    }
    // Only a range left out whole: half of one is the caller's mistake,
    // which the adapter names.
    if request.start_time.is_none() && request.end_time.is_none() {
        let start = now.date_naive();
        let end = start.checked_add_days(Days::new(1)).unwrap_or(start);
        let at_midnight = |day: chrono::NaiveDate| prost_types::Timestamp {
            seconds: day.and_time(chrono::NaiveTime::MIN).and_utc().timestamp(),
            nanos: 0,
        };
        request.start_time = Some(at_midnight(start));
        request.end_time = Some(at_midnight(end));
    }
}

/// Fills what a ListTop query left out, with `now` for "today". A `day`
/// given empty (`?day=`) is not left out: the adapter refuses it.
pub(super) fn list_top(request: &mut ListTopRequest, query: &str, now: DateTime<Utc>) {
    let given = |name: &str| url::form_urlencoded::parse(query.as_bytes()).any(|(k, _)| k == name);
    if request.day.is_empty() && !given("day") {
        request.day = now.format("%Y-%m-%d").to_string();
    }
    if request.metric == TopMetric::Unspecified as i32 {
        request.metric = TopMetric::Clicks as i32;
    }
    if request.limit == 0 {
        request.limit = crate::policy::DEFAULT_TOP_LIMIT;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn an_empty_counters_query_reads_today_by_the_hour() {
        let mut request = GetCountersRequest::default();
        get_counters(&mut request, at("2026-03-04T17:30:00Z"));
        assert_eq!(request.granularity, Granularity::Hour as i32);
        let start = request.start_time.unwrap().seconds;
        let end = request.end_time.unwrap().seconds;
        assert_eq!(start, at("2026-03-04T00:00:00Z").timestamp());
        assert_eq!(end, at("2026-03-05T00:00:00Z").timestamp());
    }

    #[test]
    fn what_a_counters_query_names_is_kept() {
        let start = prost_types::Timestamp {
            seconds: 7,
            nanos: 0,
        };
        let mut request = GetCountersRequest {
            granularity: Granularity::Day as i32,
            start_time: Some(start),
            ..GetCountersRequest::default()
        };
        get_counters(&mut request, at("2026-03-04T17:30:00Z"));
        assert_eq!(request.granularity, Granularity::Day as i32);
        assert_eq!(request.start_time, Some(start));
        assert_eq!(request.end_time, None, "half a range is not filled in");
    }

    #[test]
    fn an_empty_top_query_ranks_todays_clicks() {
        let mut request = ListTopRequest::default();
        list_top(&mut request, "", at("2026-03-04T23:59:59Z"));
        assert_eq!(request.day, "2026-03-04");
        assert_eq!(request.metric, TopMetric::Clicks as i32);
        assert_eq!(request.limit, 10);
        let mut named = ListTopRequest {
            day: "2026-01-01".into(),
            metric: TopMetric::Conversions as i32,
            limit: 3,
            ..ListTopRequest::default()
        };
        list_top(&mut named, "", at("2026-03-04T23:59:59Z"));
        assert_eq!(
            (named.day.as_str(), named.metric, named.limit),
            ("2026-01-01", TopMetric::Conversions as i32, 3)
        );
    }

    #[test]
    fn a_day_given_empty_is_not_filled_in() {
        let mut request = ListTopRequest::default();
        list_top(
            &mut request,
            "dimension=DIMENSION_VIDEO&day=",
            at("2026-03-04T12:00:00Z"),
        );
        assert_eq!(request.day, "", "the adapter refuses it, naming day");
    }
}
