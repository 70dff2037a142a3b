/* Stand-in for libnetleash.so.1 in the corpus suite: the suite checks that a
 * patched program still loads (and loads this before libc), not what the real
 * shim does, so the constructor must run yet change nothing a program could
 * observe. */

static volatile int corpus_shim_loaded;

__attribute__((constructor)) static void corpus_shim_init(void)
{
    corpus_shim_loaded = 1;
}
