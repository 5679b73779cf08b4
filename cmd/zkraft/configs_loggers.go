package main

// zkraft configs --entity-type broker-loggers: kafka-configs.sh's
// BROKER_LOGGER resources (KIP-412), one broker's run-time log levels.
// --describe lists every logger the broker reports (DescribeConfigs on
// resource type 8, sent to that broker), whatever its source, as
// ConfigCommand does; --alter SETs each --add-config logger=LEVEL and
// DELETEs each --delete-config logger in one IncrementalAlterConfigs to
// that broker, after checking, as ConfigCommand does, that every logger
// named is one the broker lists ("Invalid broker logger(s): ...").

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// brokerLoggerID parses --entity-name for broker-loggers.
func brokerLoggerID(name string) (int32, error) {
	id, err := strconv.ParseInt(name, 10, 32)
	if err != nil || id < 0 {
		return 0, fmt.Errorf("configs: --entity-name %q: the entity name for broker-loggers must be a valid integer broker id", name)
	}
	return int32(id), nil
}

// describeLoggerEntries is DescribeConfigs of broker id's BROKER_LOGGER
// resource.
func describeLoggerEntries(ctx context.Context, cl *kgo.Client, id int32) ([]kmsg.DescribeConfigsResponseResourceConfig, error) {
	req := kmsg.NewPtrDescribeConfigsRequest()
	req.IncludeSynonyms = true
	r := kmsg.NewDescribeConfigsRequestResource()
	r.ResourceType, r.ResourceName = kmsg.ConfigResourceTypeBrokerLogger, strconv.Itoa(int(id))
	req.Resources = append(req.Resources, r)
	resp, err := req.RequestWith(ctx, cl.Broker(int(id)))
	if err != nil {
		return nil, fmt.Errorf("configs: describe the loggers of broker %d: %w", id, err)
	}
	if len(resp.Resources) != 1 {
		return nil, fmt.Errorf("configs: describe the loggers of broker %d: %d resources in the answer", id, len(resp.Resources))
	}
	rr := resp.Resources[0]
	if err := kerr.ErrorForCode(rr.ErrorCode); err != nil {
		return nil, fmt.Errorf("configs: describe the loggers of broker %d: %w%s", id, err, messageSuffix(rr.ErrorMessage))
	}
	return rr.Configs, nil
}

func messageSuffix(msg *string) string {
	if msg == nil || *msg == "" {
		return ""
	}
	return ": " + *msg
}

func describeBrokerLoggers(ctx context.Context, cl *kgo.Client, name string, all bool, w io.Writer) error {
	id, err := brokerLoggerID(name)
	if err != nil {
		return err
	}
	entries, err := describeLoggerEntries(ctx, cl, id)
	if err != nil {
		return err
	}
	which := "Dynamic"
	if all {
		which = "All"
	}
	fmt.Fprintf(w, "%s configs for broker-logger %d are:\n", which, id)
	for _, c := range entries {
		var syn []string
		for _, s := range c.ConfigSynonyms {
			syn = append(syn, fmt.Sprintf("%s:%s=%s", s.Source, s.Name, deref(s.Value)))
		}
		fmt.Fprintf(w, "  %s=%s sensitive=%v synonyms={%s}\n", c.Name, deref(c.Value), c.IsSensitive, strings.Join(syn, ", "))
	}
	return nil
}

func alterBrokerLoggers(ctx context.Context, cl *kgo.Client, name, add, del string, w io.Writer) error {
	id, err := brokerLoggerID(name)
	if err != nil {
		return err
	}
	rr := kmsg.NewIncrementalAlterConfigsRequestResource()
	rr.ResourceType, rr.ResourceName = kmsg.ConfigResourceTypeBrokerLogger, strconv.Itoa(int(id))
	var named []string
	for _, kv := range splitConfigs(add) {
		k, v, ok := strings.Cut(kv, "=")
		if k = strings.TrimSpace(k); !ok || k == "" || strings.TrimSpace(v) == "" {
			return fmt.Errorf("configs: --add-config %q: want logger=LEVEL", kv)
		}
		c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
		c.Name, c.Op, c.Value = k, kmsg.IncrementalAlterConfigOpSet, kmsg.StringPtr(strings.TrimSpace(v))
		rr.Configs = append(rr.Configs, c)
		named = append(named, k)
	}
	if del != "" {
		for _, k := range strings.Split(del, ",") {
			c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
			c.Name, c.Op = strings.TrimSpace(k), kmsg.IncrementalAlterConfigOpDelete
			rr.Configs = append(rr.Configs, c)
			named = append(named, c.Name)
		}
	}
	entries, err := describeLoggerEntries(ctx, cl, id)
	if err != nil {
		return err
	}
	var invalid []string
	for _, n := range named {
		if !slices.ContainsFunc(entries, func(c kmsg.DescribeConfigsResponseResourceConfig) bool { return c.Name == n }) {
			invalid = append(invalid, n)
		}
	}
	if len(invalid) > 0 {
		return fmt.Errorf("configs: Invalid broker logger(s): %s (broker %d lists the loggers that have logged; see --describe)",
			strings.Join(invalid, ","), id)
	}
	req := kmsg.NewPtrIncrementalAlterConfigsRequest()
	req.Resources = append(req.Resources, rr)
	resp, err := req.RequestWith(ctx, cl.Broker(int(id)))
	if err != nil {
		return fmt.Errorf("configs: alter the loggers of broker %d: %w", id, err)
	}
	for _, r := range resp.Resources {
		if err := kerr.ErrorForCode(r.ErrorCode); err != nil {
			return fmt.Errorf("configs: alter the loggers of broker %d: %w%s", id, err, messageSuffix(r.ErrorMessage))
		}
	}
	fmt.Fprintf(w, "Completed updating config for broker-logger %d.\n", id)
	return nil
}
