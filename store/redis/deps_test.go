package redis

// Keeps miniredis in go.mod until the frontier's tests use it.
import _ "github.com/alicebob/miniredis/v2"
