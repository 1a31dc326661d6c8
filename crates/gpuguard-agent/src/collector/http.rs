//! The agent's HTTP side: connections served and open, and those it refused or cut (slow or
//! hostile clients show up here before they show up anywhere else).

use super::Collector;
use crate::state::AgentState;
use gpuguard::render::prometheus::{MetricFamily, MetricType};
use std::sync::atomic::{AtomicU64, Ordering};

/// `gpuguard_http_*`.
#[derive(Debug, Clone, Copy)]
pub struct HttpCollector;

fn one(name: &str, help: &str, kind: MetricType, value: &AtomicU64) -> MetricFamily {
    let mut f = MetricFamily::new(name, help, kind);
    f.push(&[], value.load(Ordering::Relaxed) as f64);
    f
}

impl Collector for HttpCollector {
    fn name(&self) -> &'static str {
        "http"
    }

    fn collect(&self, state: &AgentState, out: &mut Vec<MetricFamily>) {
        let w = &state.web;
        let counter = MetricType::Counter;
        out.extend([
            one("gpuguard_http_connections_total", "HTTP connections accepted and served.", counter, &w.connections),
            one("gpuguard_http_connections_open", "HTTP connections open now.", MetricType::Gauge, &w.open),
            one(
                "gpuguard_http_connections_rejected_total",
                "HTTP connections answered 503 at once because the connection limit was reached.",
                counter,
                &w.rejected,
            ),
            one(
                "gpuguard_http_connections_timed_out_total",
                "HTTP connections cut at their deadline (slow or stuck clients).",
                counter,
                &w.timed_out,
            ),
            one(
                "gpuguard_http_requests_shed_total",
                "HTTP requests answered 503: too many at once, or past their deadline.",
                counter,
                &w.shed,
            ),
        ]);
    }
}
