//! Benchmarks of signing and verifying click tokens.

use std::hint::black_box;

use cartclick::token::{Claims, ClickId, KeyRing, SigningKey};
use criterion::{Criterion, criterion_group, criterion_main};

/// A ring shaped like production: an active key and a retired one.
fn ring() -> KeyRing {
    KeyRing::new(vec![
        SigningKey {
            kid: "k2025a".to_owned(),
            secret: vec![0x5a; 32],
            active: false,
        },
        SigningKey {
            kid: "k2025b".to_owned(),
            secret: vec![0xa5; 32],
            active: true,
        },
    ])
    .expect("valid bench ring")
}

fn bench_token(c: &mut Criterion) {
    let ring = ring();
    let merchant = "merchant-0123456789";
    let claims = Claims {
        click_id: ClickId::from_bytes([7; 16]),
        issued_at: 1_700_000_000,
        expires_at: 1_700_000_000 + 7 * 86_400,
    };
    let token = ring.sign(merchant, &claims);
    let now = claims.issued_at + 3_600;

    let mut group = c.benchmark_group("token");
    group.bench_function("sign", |b| {
        b.iter(|| ring.sign(black_box(merchant), black_box(&claims)));
    });
    group.bench_function("verify", |b| {
        b.iter(|| ring.verify(black_box(merchant), black_box(&token), black_box(now)));
    });
    group.finish();
}

criterion_group!(benches, bench_token);
criterion_main!(benches);
