package main

import (
	"io"
	"net/http/httptest"
	"os"
	"testing"
)

func TestGreeting(t *testing.T) {
	if got, want := greeting(""), "hello, world, from go\n"; got != want {
		t.Fatalf("greeting(\"\") = %q, want %q", got, want)
	}
	if got, want := greeting(" gopher "), "hello, gopher, from go\n"; got != want {
		t.Fatalf("greeting(\"gopher\") = %q, want %q", got, want)
	}
}

func TestHealthz(t *testing.T) {
	rec := httptest.NewRecorder()
	newMux().ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	body, _ := io.ReadAll(rec.Body)
	if rec.Code != 200 || string(body) != "ok\n" {
		t.Fatalf("GET /healthz = %d %q", rec.Code, body)
	}
}

// FAIL_TEST=1 (a build arg of the test stage) makes the suite fail on purpose, to show that a
// failing test fails the build.
func TestDeliberateFailure(t *testing.T) {
	if os.Getenv("FAIL_TEST") == "1" {
		t.Fatal("FAIL_TEST=1: failing on purpose")
	}
}
