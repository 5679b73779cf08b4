package main

import (
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/zkraft/zkraft/broker/sasl"
	"github.com/zkraft/zkraft/cmd/zkraft/config"
	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/quorum"
)

const storageUsage = `Usage (as kafka-storage.sh):
  zkraft storage random-uuid
        print a new cluster id
  zkraft storage format -t|--cluster-id ID -c|--config server.properties [--override key=value]...
        [-g|--ignore-formatted] [-S|--add-scram 'SCRAM-SHA-512=[name=alice,password=alice-secret]']...
        write meta.properties into metadata.log.dir and every log.dirs directory of a quorum-mode
        node; --add-scram gives the new cluster its first SCRAM users (KIP-900): the first active
        controller writes them into the empty log. Other forms: [name=N,salt=B64,saltedpassword=B64,
        iterations=I] (base64 as Kafka's), and iterations= with a password (default 4096).
See docs/security.md and docs/quorum.md.
`

// storageMain runs `zkraft storage <sub> [flags]` (args exclude "storage").
func storageMain(_ context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{text: storageUsage}
	}
	switch args[0] {
	case "help", "-h", "--help":
		fmt.Fprint(stdout, storageUsage)
		return nil
	case "random-uuid":
		fmt.Fprintln(stdout, metadata.RandomUuid())
		return nil
	case "format":
	default:
		fmt.Fprintf(stderr, "zkraft storage: unknown subcommand %q\n", args[0])
		return usageError{text: storageUsage}
	}
	fs := flag.NewFlagSet("zkraft storage format", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var clusterID, path string
	var ignore bool
	var scrams, overrides listFlag
	for _, n := range []string{"t", "cluster-id"} {
		fs.StringVar(&clusterID, n, "", "the cluster id (zkraft storage random-uuid)")
	}
	for _, n := range []string{"c", "config"} {
		fs.StringVar(&path, n, "", "the node's server.properties")
	}
	for _, n := range []string{"g", "ignore-formatted"} {
		fs.BoolVar(&ignore, n, false, "skip directories that are already formatted")
	}
	for _, n := range []string{"S", "add-scram"} {
		fs.Var(&scrams, n, "a SCRAM credential for the bootstrap records, repeatable")
	}
	fs.Var(&overrides, "override", "key=value over the file, repeatable")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("storage format: unexpected argument %q", fs.Arg(0))
	}
	if clusterID == "" || path == "" {
		return errors.New("storage format: --cluster-id and --config are required")
	}
	if _, err := metadata.ParseUuid(clusterID); err != nil {
		return fmt.Errorf("storage format: --cluster-id %q is not a cluster id (zkraft storage random-uuid makes one): %w", clusterID, err)
	}
	cfg, err := config.Load(path, overrides)
	if err != nil {
		return err
	}
	if len(cfg.ProcessRoles) == 0 {
		return fmt.Errorf("storage format: %s is a ZooKeeper-mode configuration (no process.roles); formatting is for quorum-mode nodes", path)
	}
	var boot []metadata.Record
	for _, s := range scrams {
		rec, err := parseAddScram(s)
		if err != nil {
			return fmt.Errorf("storage format: --add-scram %q: %w", s, err)
		}
		boot = append(boot, rec)
	}
	dirs := append([]string{cfg.MetadataLogDir}, cfg.LogDirs...)
	slices.Sort(dirs)
	dirs = slices.Compact(dirs)
	formatted, metaFormatted := 0, false
	for _, dir := range dirs {
		err := quorum.FormatDir(dir, clusterID, cfg.NodeID)
		switch {
		case errors.Is(err, quorum.ErrAlreadyFormatted) && ignore:
			fmt.Fprintf(stdout, "%s is already formatted; ignored.\n", dir)
			continue
		case errors.Is(err, quorum.ErrAlreadyFormatted):
			return fmt.Errorf("log directory %s is already formatted; use --ignore-formatted to ignore this directory and format the others", dir)
		case err != nil:
			return err
		}
		fmt.Fprintf(stdout, "Formatting %s with cluster.id %s and node.id %d.\n", dir, clusterID, cfg.NodeID)
		formatted++
		metaFormatted = metaFormatted || dir == cfg.MetadataLogDir
	}
	if len(boot) > 0 && !metaFormatted {
		return fmt.Errorf("storage format: --add-scram: metadata.log.dir %s was already formatted, its log may have begun; the bootstrap records were not written", cfg.MetadataLogDir)
	}
	if len(boot) > 0 {
		if err := quorum.WriteBootstrap(cfg.MetadataLogDir, boot); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Wrote %d bootstrap SCRAM credential(s) to %s.\n", len(boot), cfg.MetadataLogDir)
	}
	if formatted == 0 && !ignore {
		return errors.New("storage format: no directory to format")
	}
	return nil
}

// parseAddScram reads Kafka's --add-scram argument:
// MECHANISM=[name=N,password=P] or [name=N,salt=B64,saltedpassword=B64],
// with iterations=I (default 4096) and values optionally in double quotes.
func parseAddScram(s string) (*metadata.UserScramCredentialRecord, error) {
	mech, body, ok := strings.Cut(s, "=")
	if !ok || !strings.HasPrefix(body, "[") || !strings.HasSuffix(body, "]") {
		return nil, errors.New("want MECHANISM=[name=...,password=...]")
	}
	m, ok := metadata.ParseScramMechanism(mech)
	if !ok {
		return nil, fmt.Errorf("unknown mechanism %q (want SCRAM-SHA-256 or SCRAM-SHA-512)", mech)
	}
	kv := make(map[string]string)
	for _, f := range strings.Split(body[1:len(body)-1], ",") {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return nil, fmt.Errorf("field %q is not key=value", f)
		}
		if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
			v = v[1 : len(v)-1]
		}
		switch k {
		case "name", "password", "salt", "saltedpassword", "iterations":
		default:
			return nil, fmt.Errorf("unknown field %q (want name, password, salt, saltedpassword, iterations)", k)
		}
		kv[k] = v
	}
	if kv["name"] == "" {
		return nil, errors.New("no name")
	}
	iterations := int32(metadata.ScramMinIterations)
	if v, ok := kv["iterations"]; ok {
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("iterations %q: %w", v, err)
		}
		iterations = int32(n)
	}
	var salt []byte
	if v, ok := kv["salt"]; ok {
		b, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			return nil, fmt.Errorf("salt is not base64: %w", err)
		}
		salt = b
	}
	var cred *metadata.ScramCredential
	var err error
	switch pw, sp := kv["password"], kv["saltedpassword"]; {
	case pw != "" && sp != "":
		return nil, errors.New("give password or saltedpassword, not both")
	case sp != "":
		if salt == nil {
			return nil, errors.New("saltedpassword needs salt")
		}
		b, err := base64.StdEncoding.DecodeString(sp)
		if err != nil {
			return nil, fmt.Errorf("saltedpassword is not base64: %w", err)
		}
		cred, err = sasl.CredentialFromSaltedPassword(m, salt, b, iterations)
		if err != nil {
			return nil, err
		}
	case pw != "":
		if cred, err = sasl.CredentialFromPassword(m, kv["name"], pw, salt, iterations); err != nil {
			return nil, err
		}
	default:
		return nil, errors.New("no password or saltedpassword")
	}
	return metadata.ScramCredentialRecord(kv["name"], m, cred), nil
}

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, " ") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }
