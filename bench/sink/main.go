// Command sink is the minimal receiver of the benchmarks: a bare net/http
// server that reads each request's body and answers 200, nothing else. Every
// load tool is measured against it, so that the receiver costs the same for
// all of them.
//
//	go run ./bench/sink -addr 127.0.0.1:18790
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18790", "address to listen on")
	flag.Parse()
	var answered atomic.Int64
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusOK)
		answered.Add(1)
	})
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, os.Interrupt)
	go func() {
		<-stop
		// The count of answers, for the scripts' zero-loss checks.
		fmt.Fprintf(os.Stderr, "sink: %d answered\n", answered.Load())
		os.Exit(0)
	}()
	log.Fatal(http.Serve(ln, h))
}
