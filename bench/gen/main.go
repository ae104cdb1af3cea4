// Command gen writes an NDJSON file of realistic, mixed callbacks for the
// benchmarks: every kind, about 1 in 20 with a deliberate defect (drift,
// unknown field, wrong type), so validation exercises its slow paths too.
// The first 8,192 callbacks are all different; the rest repeat them.
//
//	go run ./bench/gen -n 200000 -o callbacks.ndjson
//	go run ./bench/gen -size 1GB -o big.ndjson
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"time"

	"github.com/livecb/livecb/internal/event"
)

func main() {
	n := flag.Int("n", 200000, "number of callbacks (ignored with -size)")
	size := flag.String("size", "", "write until the file reaches this size, e.g. 1GB or 500MB")
	out := flag.String("o", "callbacks.ndjson", "output file")
	seed := flag.Uint64("seed", 1, "random seed (the same seed writes the same file)")
	flag.Parse()

	limit := int64(-1)
	if *size != "" {
		var v int64
		var unit string
		if _, err := fmt.Sscanf(strings.ToUpper(*size), "%d%s", &v, &unit); err != nil {
			fmt.Fprintln(os.Stderr, "gen: -size: write e.g. 1GB or 500MB")
			os.Exit(2)
		}
		mult := map[string]int64{"KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30}[unit]
		if mult == 0 {
			fmt.Fprintln(os.Stderr, "gen: -size unit must be KB, MB or GB")
			os.Exit(2)
		}
		limit = v * mult
	}
	f, err := os.Create(*out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	rnd := rand.New(rand.NewPCG(*seed, *seed))
	kinds := event.KindNames()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	defects := []event.Override{
		{Path: "fileSize", Value: json.RawMessage(`6007851133`)},
		{Path: "extraField", Value: json.RawMessage(`{"id":163594946396839936}`)},
		{Path: "streamName", Value: json.RawMessage(`350802`)},
		{Path: "status", Value: json.RawMessage(`"fail"`)},
	}
	var written int64
	var stream event.Stream
	// The first poolSize callbacks are made one by one, the rest repeat
	// them in turn: making a realistic body takes about 0.15 ms, and a 1
	// GB file made body by body took 8 minutes.
	const poolSize = 8192
	pool := make([][]byte, 0, poolSize)
	for i := 0; limit >= 0 || i < *n; i++ {
		var body []byte
		if i < poolSize {
			if i%len(kinds) == 0 {
				stream = event.NewStream(now.Add(time.Duration(i)*time.Second), rnd)
			}
			k := event.Kind(kinds[i%len(kinds)])
			var err error
			if body, err = event.Sample(k, stream); err != nil {
				panic(err)
			}
			if rnd.IntN(20) == 0 {
				body, _, _ = event.Apply(k, body, defects[rnd.IntN(len(defects)):][:1])
			}
			pool = append(pool, body)
		} else {
			body = pool[i%poolSize]
		}
		w.Write(body)
		w.WriteByte('\n')
		written += int64(len(body) + 1)
		if limit >= 0 && written >= limit {
			break
		}
	}
	if err := w.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	f.Close()
}
