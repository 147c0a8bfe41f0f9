// Command gen writes the wire types of package smapi from the botocore model
// of AWS Secrets Manager.
//
// It reads a botocore service-2.json and writes one Go file: a struct per
// structure shape reachable from the operations' inputs and outputs, with
// Validate, String, GoString, Format and LogValue methods; constants for enum
// values; the operation names; and the error shapes. The output is gofmt'ed
// and depends only on the model, so it can be committed and checked.
//
// Usage (see the go:generate line in internal/awsapi/smapi/doc.go):
//
//	go run ./internal/awsapi/gen -model third_party/botocore/service-2.json -out internal/awsapi/smapi/zz_generated.go
//
// The generator fails, rather than guess, on model features it does not
// support (other shape types, member-level traits, patterns Go's regexp
// cannot express).
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "gen: %v\n", err)
		os.Exit(1)
	}
}

func run() error {
	modelPath := flag.String("model", "", "path of the botocore service-2.json")
	out := flag.String("out", "", "path of the Go file to write")
	pkg := flag.String("pkg", "smapi", "package name of the generated file")
	flag.Parse()
	if *modelPath == "" || *out == "" || flag.NArg() > 0 {
		flag.Usage()
		return fmt.Errorf("need -model and -out")
	}
	data, err := os.ReadFile(*modelPath)
	if err != nil {
		return err
	}
	m, err := parseModel(data)
	if err != nil {
		return err
	}
	src, err := generate(m, *pkg)
	if err != nil {
		return err
	}
	return os.WriteFile(*out, src, 0o644)
}
