//! Logging and tracing as the `telemetry` configuration says (a log filter in `RUST_LOG`
//! syntax, `pretty` or `json` lines, OTLP export when an endpoint is set). W3C trace context
//! crosses HTTP, gRPC and AMQP through the helpers below.

use std::collections::HashMap;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer as _;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

use crate::config::{LogFormat, TelemetryConfig};
use crate::error::{Error, Result};

/// Flushes pending spans when dropped; keep it alive for the whole process.
pub struct TelemetryGuard {
    provider: SdkTracerProvider,
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Err(err) = self.provider.shutdown() {
            eprintln!("telemetry shutdown: {err}");
        }
    }
}

/// Installs the global subscriber for a binary.
pub fn init(service_name: &'static str, config: &TelemetryConfig) -> Result<TelemetryGuard> {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let resource = opentelemetry_sdk::Resource::builder().with_service_name(service_name).build();
    let mut builder = SdkTracerProvider::builder().with_resource(resource);
    if let Some(endpoint) = config.otlp_endpoint.as_deref().filter(|e| !e.is_empty()) {
        use opentelemetry_otlp::WithExportConfig as _;
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint)
            .build()
            .map_err(|e| Error::Telemetry(e.to_string()))?;
        builder = builder.with_batch_exporter(exporter);
    }
    let provider = builder.build();
    let otel = tracing_opentelemetry::layer().with_tracer(provider.tracer(service_name));
    // The log filter applies to log output only: trace context must survive a quiet level.
    let filter = || EnvFilter::try_new(&config.log).map_err(|e| Error::Telemetry(e.to_string()));
    let json = config.log_format == LogFormat::Json;
    let registry = tracing_subscriber::registry().with(otel.with_filter(LevelFilter::INFO));
    let installed = if json {
        registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_current_span(true)
                    .with_filter(filter()?),
            )
            .try_init()
    } else {
        registry.with(tracing_subscriber::fmt::layer().with_filter(filter()?)).try_init()
    };
    installed.map_err(|e| Error::Telemetry(e.to_string()))?;
    Ok(TelemetryGuard { provider })
}

/// For tests: trace context without export or log output, installed once per process.
pub fn init_for_tests() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
        let provider = SdkTracerProvider::builder().build();
        let otel = tracing_opentelemetry::layer().with_tracer(provider.tracer("tests"));
        let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
        let _ = tracing_subscriber::registry()
            .with(otel.with_filter(LevelFilter::INFO))
            .with(tracing_subscriber::fmt::layer().with_test_writer().with_filter(filter))
            .try_init();
        // The provider must outlive every span; tests run until the process exits.
        std::mem::forget(provider);
    });
}

/// The W3C headers (`traceparent`, `tracestate`) of the current span.
pub fn current_trace_headers() -> HashMap<String, String> {
    let context = tracing::Span::current().context();
    let mut carrier = HashMap::new();
    opentelemetry::global::get_text_map_propagator(|p| p.inject_context(&context, &mut carrier));
    carrier
}

/// The `traceparent` of the current span, if tracing is active.
pub fn current_traceparent() -> Option<String> {
    current_trace_headers().remove("traceparent")
}

/// Makes `span` a child of the remote context found through `get` (a header look-up).
pub fn set_remote_parent(span: &tracing::Span, get: impl Fn(&str) -> Option<String>) {
    let carrier: HashMap<String, String> = ["traceparent", "tracestate"]
        .into_iter()
        .filter_map(|key| get(key).map(|value| (key.to_owned(), value)))
        .collect();
    if carrier.is_empty() {
        return;
    }
    let context = opentelemetry::global::get_text_map_propagator(|p| p.extract(&carrier));
    let _ = span.set_parent(context);
}
