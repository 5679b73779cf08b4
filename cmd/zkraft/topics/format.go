package topics

// Output of --list and --describe, text (Kafka's) or JSON.

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// writeList prints names one a line, or as one JSON array.
func writeList(w io.Writer, names []string, asJSON bool) error {
	if asJSON {
		if names == nil {
			names = []string{}
		}
		return json.NewEncoder(w).Encode(names)
	}
	for _, n := range names {
		if _, err := fmt.Fprintln(w, n); err != nil {
			return err
		}
	}
	return nil
}

// writeDescribe prints the descriptions in Kafka's format (see doc.go), or
// as one JSON array. partitionsOnly leaves out the topic lines (Kafka does
// so with a partition filter such as --under-replicated-partitions).
func writeDescribe(w io.Writer, ds []description, asJSON, partitionsOnly bool) error {
	if asJSON {
		if ds == nil {
			ds = []description{}
		}
		return json.NewEncoder(w).Encode(ds)
	}
	var b strings.Builder
	for _, d := range ds {
		if !partitionsOnly {
			b.WriteString("Topic: " + d.Name)
			if d.TopicID != "" {
				b.WriteString("\tTopicId: " + d.TopicID)
			}
			fmt.Fprintf(&b, "\tPartitionCount: %d\tReplicationFactor: %d\tConfigs: %s\n",
				d.PartitionCount, d.ReplicationFactor, joinConfigs(d.Configs))
		}
		for _, p := range d.Partitions {
			leader := "none"
			if p.Leader >= 0 {
				leader = strconv.Itoa(int(p.Leader))
			}
			fmt.Fprintf(&b, "\tTopic: %s\tPartition: %d\tLeader: %s\tReplicas: %s\tIsr: %s\n",
				d.Name, p.Partition, leader, joinIDs(p.Replicas), joinIDs(p.Isr))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// underReplicated keeps, of each description, the partitions whose ISR is
// smaller than their replica set (Kafka's --under-replicated-partitions:
// replication factor - ISR size > 0), and drops the topics left with none.
func underReplicated(ds []description) []description {
	var out []description
	for _, d := range ds {
		var ps []partition
		for _, p := range d.Partitions {
			if len(p.Isr) < len(p.Replicas) {
				ps = append(ps, p)
			}
		}
		if len(ps) > 0 {
			d.Partitions = ps
			out = append(out, d)
		}
	}
	return out
}

// joinConfigs renders k=v,k=v sorted by key.
func joinConfigs(cs map[string]string) string {
	keys := make([]string, 0, len(cs))
	for k := range cs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + cs[k]
	}
	return strings.Join(parts, ",")
}

// joinIDs renders 1,2,3.
func joinIDs(ids []int32) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.Itoa(int(id))
	}
	return strings.Join(parts, ",")
}
