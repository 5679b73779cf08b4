package main

import (
	"testing"
)

// TestBrokerStaticKeys: the broker learns which keys the file set, so
// DescribeConfigs can name them STATIC_BROKER_CONFIG even at Kafka's
// default value; log.retention.hours stands for log.retention.ms.
func TestBrokerStaticKeys(t *testing.T) {
	cfg := loadProbe(t, "static keys", combinedBase, nil, []string{"min.insync.replicas=1", "log.retention.hours=1", "compression.type=lz4"})
	bcfg := brokerConfig(cfg, "cluster", nil)
	for _, k := range []string{"min.insync.replicas", "log.retention.ms", "compression.type", "node.id"} {
		if !bcfg.StaticKeys[k] {
			t.Errorf("%s not a static key: %v", k, bcfg.StaticKeys)
		}
	}
	if bcfg.StaticKeys["message.max.bytes"] || bcfg.CompressionType != "lz4" || bcfg.LogRetentionMs != 3600000 {
		t.Errorf("broker config %+v", bcfg)
	}
}
