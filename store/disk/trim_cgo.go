//go:build cgo && linux

package disk

/*
#include <stdlib.h>
#ifdef __GLIBC__
#include <malloc.h>
static void trawl_malloc_trim(void) { malloc_trim(0); }
#else
static void trawl_malloc_trim(void) {}
#endif
*/
import "C"

// trimMalloc returns the C heap's free pages to the operating system;
// Checkpoint calls it. Pebble allocates its block cache and read buffers
// with C malloc when cgo is on, and blocks streaming through them leave
// glibc's per-thread arenas holding freed memory: without trimming, a
// 10-million-URL benchmark peaked about 100 MB higher (3M URLs: 295 MB
// against 204 MB). A call costs some 10 µs. Elsewhere (no cgo, another C
// library) it does nothing.
func trimMalloc() { C.trawl_malloc_trim() }
