package redis

import (
	"os"
	"testing"
)

// TestMain keeps go-redis from logging each refused dial of the tests
// that stop a server on purpose.
func TestMain(m *testing.M) {
	QuietClientLogs()
	os.Exit(m.Run())
}
