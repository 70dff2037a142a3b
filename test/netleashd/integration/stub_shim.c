/* Stands in for libnetleash.so.1 in the daemon's own tests: the patched
 * python3 they run needs *a* shim to load, and these tests speak the wire
 * protocol themselves, so the shim must intercept nothing. */
void netleash_test_stub_shim(void) {}
