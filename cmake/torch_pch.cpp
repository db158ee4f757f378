// Compiles the precompiled torch header once for every target that reuses it.
