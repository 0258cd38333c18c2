//go:build !cgo || !linux

package disk

// trimMalloc does nothing without cgo on Linux (see trim_cgo.go).
func trimMalloc() {}
