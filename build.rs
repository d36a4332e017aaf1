//! Protobuf code generation, and nothing else. `protox` compiles the contract
//! in pure Rust, so a machine with only a Rust toolchain builds the crate: no
//! system `protoc`. The descriptor set is kept for gRPC server reflection
//! and the JSON mapping.

use std::{env, path::PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protos = [
        "proto/cartclick/v1/common.proto",
        "proto/cartclick/v1/click_service.proto",
        "proto/cartclick/v1/sale_service.proto",
        "proto/cartclick/v1/counter_service.proto",
        "proto/cartclick/v1/admin_service.proto",
        "proto/cartclick/v1/events.proto",
        "proto/cartclick/v1/earnings_service.proto",
    ];
    println!("cargo:rerun-if-changed=proto");
    let descriptors = protox::compile(protos, ["proto"])?;
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    std::fs::write(
        out_dir.join("cartclick_descriptor.bin"),
        prost::Message::encode_to_vec(&descriptors),
    )?;
    // Type names (`prost::Name`) let a client print any message in the
    // protobuf JSON mapping by looking its descriptor up (src/cli/output.rs).
    let mut config = tonic_prost_build::Config::new();
    config.enable_type_names();
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        // prost's codec, but a message that does not decode is
        // MALFORMED_REQUEST rather than tonic's INTERNAL (src/codec.rs).
        .codec_path("crate::codec::Codec")
        .compile_fds_with_config(descriptors, config)?;
    Ok(())
}
