// Command jsondecode is the baseline of the validate benchmark: it reads an
// NDJSON file line by line and decodes each line with encoding/json into
// `any` (numbers as json.Number, as livecb does), and nothing else.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
)

func main() {
	f, err := os.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	r := bufio.NewReaderSize(f, 1<<16)
	n, bad := 0, 0
	for {
		line, err := r.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			dec := json.NewDecoder(bytes.NewReader(line))
			dec.UseNumber()
			var v any
			if dec.Decode(&v) != nil {
				bad++
			}
			n++
		}
		if err != nil {
			break
		}
	}
	fmt.Fprintf(os.Stderr, "%d lines, %d not JSON\n", n, bad)
}
