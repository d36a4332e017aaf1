# Sourced by the bench scripts: bench_config FILE [EXTRA] writes a server
# config with fresh secrets (a pepper, a signing key, an admin key whose
# secret it leaves in $ADMIN) and EXTRA TOML after them. Nothing is kept.
bench_config() {
  ADMIN="bench-admin-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  cat > "$1" <<TOML
viewer_pepper_base64 = "$(head -c 32 /dev/urandom | base64)"
[[signing_keys]]
kid = "k1"
secret_base64 = "$(head -c 32 /dev/urandom | base64)"
active = true
[[api_keys]]
id = "admin"
role = "admin"
sha256 = "$(printf %s "$ADMIN" | sha256sum | cut -d' ' -f1)"
${2:-}
TOML
}
