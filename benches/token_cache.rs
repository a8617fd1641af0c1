//! Token and SAR cache costs: HMAC key derivation, a warm hit, a 64-way coalesced miss, the SAR cache key.

mod support;

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use gatebench::gateway::SarAttributes;
use gatebench::gateway::auth::token_cache::TokenCacheTtls;
use gatebench::gateway::auth::tokenreview::review_outcome;
use gatebench::gateway::auth::{
    Identity, TokenCache, TokenKeyer, sar_key, sar_spec, unverified_exp,
};
use gatebench::gateway::kube_client::{self, KubeApi};
use gatebench::gateway::metrics::{ApiLabels, Metrics};
use gatebench::gateway::server::kube_api;
use gatebench::gateway::{AuthMode, Config};

const TTLS: TokenCacheTtls = TokenCacheTtls {
    success: Duration::from_secs(300),
    negative: Duration::from_secs(10),
};
const COALESCING_TASKS: usize = 64;

type ReviewResult = Result<Result<Identity, String>, kube_client::Error>;

fn key_derivation(c: &mut Criterion) {
    let keyer = TokenKeyer::random();
    let token = support::service_account_token_shape(support::unix_secs_from_now(
        Duration::from_secs(3600),
    ));
    let mut group = c.benchmark_group("token_cache/key");
    group.throughput(Throughput::Elements(1));
    for audiences in [0usize, 1, 3] {
        let auds: Vec<String> = (0..audiences)
            .map(|i| format!("https://gateway-{i}.gatebench-system.svc"))
            .collect();
        group.bench_with_input(
            BenchmarkId::new("hmac_sha256", format!("{audiences}_audiences")),
            &auds,
            |b, auds| b.iter(|| keyer.cache_key(black_box(&token), black_box(auds))),
        );
    }
    // The cached authenticator also reads `exp` (unverified) on every request to cap the TTL.
    group.bench_function("unverified_exp", |b| {
        b.iter(|| unverified_exp(black_box(&token)))
    });
    group.finish();
}

fn warm_hit(c: &mut Criterion) {
    let runtime = support::current_thread_runtime();
    let keyer = TokenKeyer::random();
    let token = support::service_account_token_shape(support::unix_secs_from_now(
        Duration::from_secs(3600),
    ));
    let audiences: Vec<String> = Vec::new();
    let cache = TokenCache::new(100_000, TTLS);
    let reviews = AtomicU64::new(0);
    let review = || async {
        reviews.fetch_add(1, Ordering::Relaxed);
        Ok::<_, kube_client::Error>(Ok(support::service_account_identity()))
    };
    let key = keyer.cache_key(&token, &audiences);
    runtime
        .block_on(cache.get_or_review(key, || unverified_exp(&token), review))
        .expect("warming review succeeds");

    let mut group = c.benchmark_group("token_cache/warm_hit");
    group.throughput(Throughput::Elements(1));
    group.bench_function("lookup", |b| {
        b.to_async(&runtime).iter(|| async {
            let (verdict, hit) = cache
                .get_or_review(black_box(key), || None, review)
                .await
                .expect("hit");
            debug_assert!(hit);
            verdict
        })
    });
    // What `cached` mode pays per request before metrics: key, unverified exp, lookup.
    group.bench_function("key_exp_lookup", |b| {
        b.to_async(&runtime).iter(|| async {
            let token = black_box(token.as_str());
            cache
                .get_or_review(
                    keyer.cache_key(token, &audiences),
                    || unverified_exp(token),
                    review,
                )
                .await
                .expect("hit")
        })
    });
    group.finish();
    assert_eq!(
        reviews.load(Ordering::Relaxed),
        1,
        "a warm cache must never review again"
    );
}

/// `COALESCING_TASKS` concurrent requests for one fresh key: one review, the rest wait for it.
/// The review is an in-process source (one scheduler yield), so this is the cache's own cost.
fn coalesced_miss(c: &mut Criterion) {
    let runtime = support::multi_thread_runtime();
    let cache = TokenCache::new(100_000, TTLS);
    let next_key = Arc::new(AtomicU64::new(0));
    let mut group = c.benchmark_group("token_cache/miss");
    group.throughput(Throughput::Elements(COALESCING_TASKS as u64));
    group.bench_function(
        BenchmarkId::new("coalesced_in_process", COALESCING_TASKS),
        |b| {
            b.to_async(&runtime).iter(|| {
                let cache = cache.clone();
                let n = next_key.fetch_add(1, Ordering::Relaxed);
                async move {
                    let mut key = [0u8; 32];
                    key[..8].copy_from_slice(&n.to_be_bytes());
                    let misses = run_coalescing(&cache, key, || async {
                        tokio::task::yield_now().await;
                        Ok(Ok(support::service_account_identity()))
                    })
                    .await;
                    assert_eq!(misses, 1, "64 requests for one key must review once");
                }
            })
        },
    );
    group.finish();
}

/// Spawns the tasks, waits for all, returns how many of them reviewed (missed).
pub async fn run_coalescing<F, Fut>(cache: &TokenCache, key: [u8; 32], review: F) -> usize
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = ReviewResult> + Send + 'static,
{
    let tasks: Vec<_> = (0..COALESCING_TASKS)
        .map(|_| {
            let cache = cache.clone();
            let review = review.clone();
            tokio::spawn(async move {
                let (_, hit) = cache
                    .get_or_review(key, || None, review)
                    .await
                    .expect("review succeeds");
                hit
            })
        })
        .collect();
    let mut misses = 0;
    for task in tasks {
        if !task.await.expect("task completes") {
            misses += 1;
        }
    }
    misses
}

/// The same 64-way miss with a real TokenReview over loopback to the stand-in (no injected latency)
/// through the gateway's kube client: one API call per 64 requests.
fn coalesced_miss_loopback(c: &mut Criterion) {
    let runtime = support::multi_thread_runtime();
    let fixture = runtime.block_on(support::standin::start());
    let config = Config::new(AuthMode::Cached, Some(fixture.gateway_kube.clone()));
    let metrics = Arc::new(Metrics::new());
    let kube: KubeApi = runtime.block_on(async {
        kube_api(&config, metrics.clone())
            .expect("kube client")
            .expect("mode needs kube")
    });
    let token: Arc<str> = fixture.load_token.clone().into();
    let review = move || {
        let kube = kube.clone();
        let token = token.clone();
        async move {
            let status = kube.token_review(&token, &[]).await?;
            Ok(review_outcome(status, &[]))
        }
    };
    let cache = TokenCache::new(100_000, TTLS);
    let next_key = AtomicU64::new(0);
    let iterations = AtomicU64::new(0);
    let calls_before = metrics
        .apiserver_requests
        .get_or_create(&tokenreview_created())
        .get();
    let mut group = c.benchmark_group("token_cache/miss");
    group.throughput(Throughput::Elements(COALESCING_TASKS as u64));
    group.bench_function(
        BenchmarkId::new("coalesced_loopback_tokenreview", COALESCING_TASKS),
        |b| {
            b.to_async(&runtime).iter(|| {
                let cache = cache.clone();
                let review = review.clone();
                let n = next_key.fetch_add(1, Ordering::Relaxed);
                iterations.fetch_add(1, Ordering::Relaxed);
                async move {
                    let mut key = [0u8; 32];
                    key[..8].copy_from_slice(&n.to_be_bytes());
                    let misses = run_coalescing(&cache, key, review).await;
                    assert_eq!(misses, 1, "64 requests for one key must review once");
                }
            })
        },
    );
    group.finish();
    let calls = metrics
        .apiserver_requests
        .get_or_create(&tokenreview_created())
        .get()
        - calls_before;
    assert_eq!(
        calls,
        iterations.load(Ordering::Relaxed),
        "exactly one TokenReview per coalesced miss"
    );
    runtime.block_on(fixture.server.shutdown());
}

fn tokenreview_created() -> ApiLabels {
    ApiLabels {
        api: "tokenreview",
        code: "201".into(),
    }
}

fn sar_cache_key(c: &mut Criterion) {
    let identity = support::service_account_identity();
    let attributes = SarAttributes::gateway_default("gatebench-system");
    let mut group = c.benchmark_group("token_cache/sar_key");
    group.throughput(Throughput::Elements(1));
    group.bench_function("spec_and_key", |b| {
        b.iter(|| sar_key(&sar_spec(black_box(&identity), black_box(&attributes))))
    });
    let spec = sar_spec(&identity, &attributes);
    group.bench_function("key_only", |b| b.iter(|| sar_key(black_box(&spec))));
    group.finish();
}

criterion_group! {
    name = benches;
    config = support::criterion();
    targets = key_derivation, warm_hit, coalesced_miss, coalesced_miss_loopback, sar_cache_key
}
criterion_main!(benches);
