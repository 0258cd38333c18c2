//go:build !cgo || !linux

package disk

// trimMalloc does nothing without cgo on Linux (see disk_trim_cgo.go).
func trimMalloc() {}
