// Serves the frontend's static files and a tiny API. Standard library only.
package main

import (
	"fmt"
	"log"
	"net/http"
	"os"
)

func newMux(staticDir string) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("/", http.FileServer(http.Dir(staticDir)))
	mux.HandleFunc("/api/greeting", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "hello from the go backend\n")
	})
	return mux
}

func main() {
	dir := os.Getenv("STATIC_DIR")
	if dir == "" {
		dir = "./static"
	}
	log.Printf("serving %s on :8080", dir)
	log.Fatal(http.ListenAndServe(":8080", newMux(dir)))
}
