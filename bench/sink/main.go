// Command sink is the minimal receiver of the benchmarks: a bare server that
// reads each request's body and answers 200, nothing else. Every load tool
// is measured against it, so that the receiver costs the same for all of
// them. By default it is Go's net/http (the baseline the issue names for
// `livecb listen`); -server fasthttp runs the same handler on fasthttp, the
// server livecb listen is built on, to show what listen's own work costs.
//
//	go run ./bench/sink -addr 127.0.0.1:18790
//	go run ./bench/sink -addr 127.0.0.1:18792 -server fasthttp
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

	"github.com/valyala/fasthttp"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18790", "address to listen on")
	server := flag.String("server", "net/http", "net/http or fasthttp")
	flag.Parse()
	var answered atomic.Int64
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
	switch *server {
	case "net/http":
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			w.WriteHeader(http.StatusOK)
			answered.Add(1)
		})
		log.Fatal(http.Serve(ln, h))
	case "fasthttp":
		h := func(ctx *fasthttp.RequestCtx) {
			_ = ctx.PostBody() // read whole before the handler, by fasthttp
			ctx.SetStatusCode(fasthttp.StatusOK)
			answered.Add(1)
		}
		log.Fatal(fasthttp.Serve(ln, h))
	default:
		log.Fatalf("-server %q: use net/http or fasthttp", *server)
	}
}
