// Package warctest reads WARC files with an independent reader, for
// tests: warcio, the JavaScript WARC library of Webrecorder, run by node
// on the script warccheck.mjs next to this file.
//
// Read skips its test when node or warcio (installed with npm install -g
// warcio) is missing, unless the environment variable
// TRAWL_REQUIRE_WARCIO is 1, as CI sets it: then it fails the test.
package warctest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Record is what warcio read of one record.
type Record struct {
	Type      string `json:"type"`      // WARC-Type
	TargetURI string `json:"targetURI"` // WARC-Target-URI
	// Offset is where the record starts in the file: for a .warc.gz,
	// its gzip member.
	Offset  int64             `json:"offset"`
	Headers map[string]string `json:"headers"` // the WARC header fields, by name as written
	// PayloadDigest and BlockDigest are the WARC-Payload-Digest and
	// WARC-Block-Digest fields.
	PayloadDigest string `json:"payloadDigest"`
	BlockDigest   string `json:"blockDigest"`
	// BlockSHA1 and PayloadSHA1 are the SHA-1 of the block and of the
	// payload as warcio parses them, as "sha1:" and base 32.
	BlockSHA1   string `json:"blockSHA1"`
	PayloadSHA1 string `json:"payloadSHA1"`
	// HTTPStatus is the status code of an HTTP response block, else 0.
	HTTPStatus int `json:"httpStatus"`
	// Payload is the HTTP payload as warcio reads it raw (not
	// content-decoded), or the block of a record that is not HTTP.
	Payload []byte `json:"payload"`
}

// timeout bounds one run of the script.
const timeout = 2 * time.Minute

// Read returns the records of the WARC file at path as warcio reads them.
// It skips t when node or warcio is missing (see the package doc) and
// fails it when warcio cannot read the file.
func Read(t testing.TB, path string) []Record {
	t.Helper()
	node, root := setup(t)
	script := scriptPath(t)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script, root, path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("warcio on %s: %v\n%s", path, err, stderr.Bytes())
	}
	var recs []Record
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<30)
	for sc.Scan() {
		var r Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("warcio on %s: line %.80q: %v", path, sc.Bytes(), err)
		}
		recs = append(recs, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("warcio on %s: %v", path, err)
	}
	return recs
}

// setup returns the node command and the node_modules folder that holds
// warcio, or skips (or fails) t.
func setup(t testing.TB) (node, root string) {
	t.Helper()
	missing := func(format string, args ...any) {
		t.Helper()
		if os.Getenv("TRAWL_REQUIRE_WARCIO") == "1" {
			t.Fatalf(format+" (and TRAWL_REQUIRE_WARCIO=1)", args...)
		}
		t.Skipf(format, args...)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("warcio check needs node: %v", err)
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		missing("warcio check needs npm to find warcio: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, npm, "root", "-g").Output()
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			err = errors.New(strings.TrimSpace(string(exit.Stderr)))
		}
		missing("npm root -g: %v", err)
	}
	root = strings.TrimSpace(string(out))
	if _, err := os.Stat(filepath.Join(root, "warcio", "package.json")); err != nil {
		missing("warcio is not installed in %s (npm install -g warcio): %v", root, err)
	}
	return node, root
}

// scriptPath returns the path of warccheck.mjs, next to this file.
func scriptPath(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("warctest: cannot find warccheck.mjs")
	}
	return filepath.Join(filepath.Dir(file), "warccheck.mjs")
}
