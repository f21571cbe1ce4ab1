package main

import (
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

func TestServesStaticAndAPI(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "index.html"), []byte("<h1>hi</h1>\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mux := newMux(dir)
	for path, want := range map[string]string{"/": "<h1>hi</h1>\n", "/api/greeting": "hello from the go backend\n"} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		body, _ := io.ReadAll(rec.Body)
		if rec.Code != 200 || string(body) != want {
			t.Fatalf("GET %s = %d %q, want %q", path, rec.Code, body, want)
		}
	}
}

// FAIL_TEST=1 (a build arg of the test stage) makes the suite fail on purpose.
func TestDeliberateFailure(t *testing.T) {
	if os.Getenv("FAIL_TEST") == "1" {
		t.Fatal("FAIL_TEST=1: failing on purpose")
	}
}
