package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
)

const configsUsage = `Usage (as kafka-configs.sh):
  zkraft configs --bootstrap-server H:P [--command-config F] --entity-type topics|brokers|broker-loggers|users|clients|ips
                 (--entity-name N | --entity-default)
                 (--describe [--all] | --alter [--add-config k=v,k2=[a,b],...] [--delete-config k,...])
  topics, brokers: --describe (DescribeConfigs), --alter (IncrementalAlterConfigs SET / DELETE);
         brokers: --entity-name ID is one broker, --entity-default the cluster default (<default>)
  broker-loggers: --entity-name ID: that broker's log levels; --alter --add-config 'broker=DEBUG,replica=WARN'
         (ALL, TRACE, DEBUG, INFO, WARN, ERROR, FATAL, OFF), --delete-config broker (back to its parent's level)
  users: SCRAM credentials ('SCRAM-SHA-512=[iterations=8192,password=secret]', --delete-config SCRAM-SHA-512)
         and quotas (producer_byte_rate, consumer_byte_rate, request_percentage, controller_mutation_rate)
  clients, ips: quotas (ips: connection_creation_rate)
`

// quotaEntityType is DescribeClientQuotas' entity type of a kafka-configs
// --entity-type.
var quotaEntityType = map[string]string{"users": "user", "clients": "client-id", "ips": "ip"}

// configsMain runs `zkraft configs` (args exclude "configs").
func configsMain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newToolFlags("configs", configsUsage, stderr)
	entityType := fs.String("entity-type", "", "topics, brokers, broker-loggers, users, clients or ips")
	entityName := fs.String("entity-name", "", "the entity")
	entityDefault := fs.Bool("entity-default", false, "the default entity (brokers: the cluster default; users, clients: <default>)")
	describe := fs.Bool("describe", false, "show the entity's configs")
	all := fs.Bool("all", false, "with --describe: every config, not only the dynamic ones")
	alter := fs.Bool("alter", false, "change the entity's configs")
	addConfig := fs.String("add-config", "", "k=v[,k=v] to set")
	deleteConfig := fs.String("delete-config", "", "k[,k] to remove")
	if help, err := fs.parse(args, stdout); help || err != nil {
		return err
	}
	if *describe == *alter || (*entityName == "") == !*entityDefault {
		return fs.usageError()
	}
	switch *entityType {
	case "topics", "brokers", "broker-loggers", "users", "clients", "ips":
	default:
		return fmt.Errorf("configs: --entity-type %q: want topics, brokers, broker-loggers, users, clients or ips", *entityType)
	}
	if *entityDefault {
		switch *entityType {
		case "topics":
			return errors.New("configs: --entity-default is not valid for topics (name the topic with --entity-name)")
		case "broker-loggers":
			return errors.New("configs: --entity-default is not valid for broker-loggers (name the broker with --entity-name)")
		case "brokers":
		default:
			*entityName = "<default>"
		}
	}
	if *alter && *addConfig == "" && *deleteConfig == "" {
		return errors.New("configs: --alter needs --add-config or --delete-config")
	}
	ctx, cancel := context.WithTimeout(ctx, fs.timeout)
	defer cancel()
	cl, err := fs.client()
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	name := *entityName

	if *entityType == "broker-loggers" {
		if *alter {
			return alterBrokerLoggers(ctx, cl, name, *addConfig, *deleteConfig, stdout)
		}
		return describeBrokerLoggers(ctx, cl, name, *all, stdout)
	}
	if *entityType == "topics" || *entityType == "brokers" {
		if *alter {
			return alterResourceConfigs(ctx, adm, *entityType, name, *addConfig, *deleteConfig, stdout)
		}
		return describeResourceConfigs(ctx, adm, *entityType, name, *all, stdout)
	}
	if *alter {
		return alterEntity(ctx, adm, *entityType, name, *addConfig, *deleteConfig, stdout)
	}
	return describeEntity(ctx, adm, *entityType, name, stdout)
}

func describeResourceConfigs(ctx context.Context, adm *kadm.Client, typ, name string, all bool, w io.Writer) error {
	var rcs kadm.ResourceConfigs
	var err error
	kind := "topic"
	switch {
	case typ == "topics":
		rcs, err = adm.DescribeTopicConfigs(ctx, name)
	case name == "":
		kind = "brokers"
		rcs, err = adm.DescribeBrokerConfigs(ctx)
	default:
		kind = "broker"
		id, perr := strconv.ParseInt(name, 10, 32)
		if perr != nil {
			return fmt.Errorf("configs: --entity-name %q: a broker is named by its id", name)
		}
		rcs, err = adm.DescribeBrokerConfigs(ctx, int32(id))
	}
	if err != nil {
		return fmt.Errorf("configs: describe %s %s: %w", kind, name, err)
	}
	rc, err := rcs.On(name, nil)
	if err == nil {
		err = rc.Err
	}
	if err != nil {
		return fmt.Errorf("configs: describe %s %s: %w", kind, name, err)
	}
	which := "Dynamic"
	if all {
		which = "All"
	}
	if name == "" {
		fmt.Fprintln(w, "Default configs for brokers in the cluster are:")
	} else {
		fmt.Fprintf(w, "%s configs for %s %s are:\n", which, kind, name)
	}
	for _, c := range rc.Configs {
		dynamic := strings.HasPrefix(c.Source.String(), "DYNAMIC")
		if !all && !dynamic {
			continue
		}
		var syn []string
		for _, s := range c.Synonyms {
			syn = append(syn, fmt.Sprintf("%s:%s=%s", s.Source, s.Key, deref(s.Value)))
		}
		fmt.Fprintf(w, "  %s=%s sensitive=%v synonyms={%s}\n", c.Key, deref(c.Value), c.Sensitive, strings.Join(syn, ", "))
	}
	return nil
}

func deref(s *string) string {
	if s == nil {
		return "null"
	}
	return *s
}

func quotaEntity(typ, name string) kadm.ClientQuotaEntity {
	var n *string
	if name != "<default>" {
		n = &name
	}
	return kadm.ClientQuotaEntity{{Type: quotaEntityType[typ], Name: n}}
}

func describeEntity(ctx context.Context, adm *kadm.Client, typ, name string, w io.Writer) error {
	comp := kadm.DescribeClientQuotaComponent{Type: quotaEntityType[typ], MatchType: 0, MatchName: &name}
	if name == "<default>" {
		comp = kadm.DescribeClientQuotaComponent{Type: quotaEntityType[typ], MatchType: 1}
	}
	qs, err := adm.DescribeClientQuotas(ctx, true, []kadm.DescribeClientQuotaComponent{comp})
	if err != nil {
		return fmt.Errorf("configs: describe quotas of %s: %w", name, err)
	}
	label := map[string]string{"users": "user-principal", "clients": "client-id", "ips": "ip"}[typ]
	var vals []string
	for _, q := range qs {
		for _, v := range q.Values {
			vals = append(vals, fmt.Sprintf("%s=%s", v.Key, strconv.FormatFloat(v.Value, 'f', 1, 64)))
		}
	}
	slices.Sort(vals)
	if len(vals) > 0 {
		fmt.Fprintf(w, "Quota configs for %s '%s' are %s\n", label, name, strings.Join(vals, ", "))
	}
	if typ != "users" {
		return nil
	}
	ds, err := adm.DescribeUserSCRAMs(ctx, name)
	if err != nil {
		return fmt.Errorf("configs: describe SCRAM credentials of %s: %w", name, err)
	}
	var creds []string
	if d, ok := ds[name]; ok && d.Err == nil {
		for _, c := range d.CredInfos {
			creds = append(creds, fmt.Sprintf("%s=iterations=%d", c.Mechanism, c.Iterations))
		}
	}
	if len(creds) > 0 {
		fmt.Fprintf(w, "SCRAM credential configs for %s '%s' are %s\n", label, name, strings.Join(creds, ", "))
	}
	return nil
}

// splitConfigs splits k=v,k=[a=b,c=d] at the commas outside brackets.
func splitConfigs(s string) []string {
	var out []string
	depth, start := 0, 0
	for i, r := range s {
		switch r {
		case '[':
			depth++
		case ']':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}

func scramMechanism(k string) (kadm.ScramMechanism, bool) {
	switch k {
	case "SCRAM-SHA-256":
		return kadm.ScramSha256, true
	case "SCRAM-SHA-512":
		return kadm.ScramSha512, true
	}
	return 0, false
}

func alterEntity(ctx context.Context, adm *kadm.Client, typ, name, add, del string, w io.Writer) error {
	var ups []kadm.UpsertSCRAM
	var dels []kadm.DeleteSCRAM
	var ops []kadm.AlterClientQuotaOp
	for _, kv := range splitConfigs(add) {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return fmt.Errorf("configs: --add-config %q: not key=value", kv)
		}
		if m, isScram := scramMechanism(k); isScram {
			if typ != "users" {
				return fmt.Errorf("configs: --add-config %s: SCRAM credentials belong to users", k)
			}
			up := kadm.UpsertSCRAM{User: name, Mechanism: m, Iterations: 4096}
			if !strings.HasPrefix(v, "[") || !strings.HasSuffix(v, "]") {
				return fmt.Errorf("configs: --add-config %s: want %s=[password=...] or [iterations=N,password=...]", k, k)
			}
			for _, f := range strings.Split(v[1:len(v)-1], ",") {
				fk, fv, _ := strings.Cut(f, "=")
				switch fk {
				case "password":
					up.Password = fv
				case "iterations":
					n, err := strconv.ParseInt(fv, 10, 32)
					if err != nil {
						return fmt.Errorf("configs: --add-config %s: iterations %q: %w", k, fv, err)
					}
					up.Iterations = int32(n)
				default:
					return fmt.Errorf("configs: --add-config %s: unknown field %q (want password, iterations)", k, fk)
				}
			}
			if up.Password == "" {
				return fmt.Errorf("configs: --add-config %s: no password", k)
			}
			ups = append(ups, up)
			continue
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return fmt.Errorf("configs: --add-config %s=%s: a quota value is a number", k, v)
		}
		ops = append(ops, kadm.AlterClientQuotaOp{Key: k, Value: f})
	}
	if del != "" {
		for _, k := range strings.Split(del, ",") {
			if m, isScram := scramMechanism(k); isScram {
				dels = append(dels, kadm.DeleteSCRAM{User: name, Mechanism: m})
				continue
			}
			ops = append(ops, kadm.AlterClientQuotaOp{Key: k, Remove: true})
		}
	}
	if len(ups) > 0 || len(dels) > 0 {
		res, err := adm.AlterUserSCRAMs(ctx, dels, ups)
		if err == nil {
			err = res.Error()
		}
		if err != nil {
			return fmt.Errorf("configs: alter SCRAM credentials of %s: %w", name, err)
		}
	}
	if len(ops) > 0 {
		res, err := adm.AlterClientQuotas(ctx, []kadm.AlterClientQuotaEntry{{Entity: quotaEntity(typ, name), Ops: ops}})
		if err != nil {
			return fmt.Errorf("configs: alter quotas of %s: %w", name, err)
		}
		for _, r := range res {
			if r.Err != nil {
				return fmt.Errorf("configs: alter quotas of %s: %w %s", name, r.Err, r.ErrMessage)
			}
		}
	}
	kind := map[string]string{"users": "user", "clients": "client", "ips": "ip"}[typ]
	fmt.Fprintf(w, "Completed updating config for %s %s.\n", kind, name)
	return nil
}

// alterResourceConfigs is kafka-configs.sh --alter of a topic or broker:
// one IncrementalAlterConfigs with a SET per --add-config key (k=[a,b]
// sets the list "a,b") and a DELETE per --delete-config key. A broker
// is named by its id; name "" is the cluster default.
func alterResourceConfigs(ctx context.Context, adm *kadm.Client, typ, name, add, del string, w io.Writer) error {
	var ops []kadm.AlterConfig
	for _, kv := range splitConfigs(add) {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return fmt.Errorf("configs: --add-config %q: not key=value", kv)
		}
		if strings.HasPrefix(v, "[") && strings.HasSuffix(v, "]") {
			v = v[1 : len(v)-1]
		}
		ops = append(ops, kadm.AlterConfig{Op: kadm.SetConfig, Name: k, Value: kadm.StringPtr(v)})
	}
	if del != "" {
		for _, k := range strings.Split(del, ",") {
			ops = append(ops, kadm.AlterConfig{Op: kadm.DeleteConfig, Name: strings.TrimSpace(k)})
		}
	}
	var res kadm.AlterConfigsResponses
	var err error
	what := "topic " + name
	switch {
	case typ == "topics":
		res, err = adm.AlterTopicConfigs(ctx, ops, name)
	case name == "":
		what = "the cluster-default broker config"
		res, err = adm.AlterBrokerConfigs(ctx, ops)
	default:
		what = "broker " + name
		id, perr := strconv.ParseInt(name, 10, 32)
		if perr != nil {
			return fmt.Errorf("configs: --entity-name %q: a broker is named by its id (or use --entity-default)", name)
		}
		res, err = adm.AlterBrokerConfigs(ctx, ops, int32(id))
	}
	if err != nil {
		return fmt.Errorf("configs: alter %s: %w", what, err)
	}
	for _, r := range res {
		if r.Err != nil {
			msg := r.ErrMessage
			if msg == "" {
				msg = r.Err.Error()
			}
			return fmt.Errorf("configs: alter %s: %w: %s", what, r.Err, msg)
		}
	}
	switch {
	case typ == "topics":
		fmt.Fprintf(w, "Completed updating config for topic %s.\n", name)
	case name == "":
		fmt.Fprintln(w, "Completed updating default config for brokers in the cluster.")
	default:
		fmt.Fprintf(w, "Completed updating config for broker %s.\n", name)
	}
	return nil
}
