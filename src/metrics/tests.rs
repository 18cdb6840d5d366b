use std::time::Duration;

use super::*;

#[test]
fn renders_described_metrics_with_bounded_labels() {
    let m = Metrics::new();
    m.request(Protocol::Rest, Operation::Resolve, Outcome::Ok, Duration::from_micros(70));
    m.request(Protocol::Rest, Operation::Resolve, Outcome::Ok, Duration::from_micros(300));
    m.request(Protocol::HandleUdp, Operation::Resolve, Outcome::NotFound, Duration::from_millis(2));
    m.resolution(Protocol::Grpc, Outcome::Ok);
    m.registration(Change::Create);
    m.bytes(Protocol::Rest, 10, 20);
    m.set_ready(true);
    let cache = CacheFigures { hits: 7, misses: 2, entries: 2, bytes: 9000, capacity_bytes: 1 << 20 };
    let text = m.render(&StoreFigures { sst_files: Some(3), ..StoreFigures::default() }, &cache);
    for line in [
        r#"idnode_api_requests_total{protocol="rest",operation="resolve",result="ok"} 2"#,
        r#"idnode_api_requests_total{protocol="handle_udp",operation="resolve",result="not_found"} 1"#,
        r#"idnode_api_request_duration_seconds_bucket{protocol="rest",operation="resolve",le="0.0001"} 1"#,
        r#"idnode_api_request_duration_seconds_bucket{protocol="rest",operation="resolve",le="0.0005"} 2"#,
        r#"idnode_api_request_duration_seconds_count{protocol="rest",operation="resolve"} 2"#,
        r#"idnode_core_resolutions_total{protocol="grpc",result="ok"} 1"#,
        r#"idnode_core_registrations_total{change="create"} 1"#,
        r#"idnode_api_received_bytes_total{protocol="rest"} 10"#,
        r#"idnode_api_sent_bytes_total{protocol="rest"} 20"#,
        r#"idnode_store_sst_files 3"#,
        r#"idnode_record_cache_hits_total 7"#,
        r#"idnode_record_cache_bytes 9000"#,
        r#"idnode_node_ready 1"#,
        concat!(r#"idnode_build_info{version=""#, env!("CARGO_PKG_VERSION"), r#""} 1"#),
        "# TYPE idnode_api_request_duration_seconds histogram",
        "# HELP idnode_api_requests_total Requests by protocol, operation and result.",
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
    }
    assert!(text.contains("process_resident_memory_bytes "), "{text}");
}

#[test]
fn outcomes_agree_across_protocols() {
    use crate::error::ErrorCode;
    assert_eq!(Outcome::from_code(ErrorCode::HandleNotFound), Outcome::NotFound);
    assert_eq!(Outcome::from_code(ErrorCode::Forbidden), Outcome::Denied);
    assert_eq!(Outcome::from_code(ErrorCode::Overloaded), Outcome::Overloaded);
    assert_eq!(Outcome::from_code(ErrorCode::BadRequest), Outcome::Invalid);
    assert_eq!(Outcome::from_http_status(404), Outcome::NotFound);
    assert_eq!(Outcome::from_grpc_code(16), Outcome::Denied);
    assert_eq!(Outcome::from_response_code(1), Outcome::Ok);
    assert_eq!(Operation::Other as usize + 1, Operation::COUNT);
    assert!(Protocol::ALL.iter().enumerate().all(|(i, p)| *p as usize == i));
    assert_eq!(Outcome::Error as usize + 1, Outcome::COUNT);
}

#[test]
fn two_nodes_do_not_share_figures() {
    let (a, b) = (Metrics::new(), Metrics::new());
    a.registration(Change::Delete);
    let text = b.render(&StoreFigures::default(), &CacheFigures::default());
    assert!(text.lines().any(|l| l == r#"idnode_core_registrations_total{change="delete"} 0"#), "{text}");
}
