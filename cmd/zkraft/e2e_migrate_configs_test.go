package main_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/zkraft/zkraft/metadata/wait"
)

// The migration end-to-end tests carry dynamic broker configs (issue 14)
// through every step: set in ZooKeeper mode (/config/brokers/<default>
// and /config/brokers/2), loaded into the log, still described after the
// finalize and after a rollback; one set during dual-write reaches its
// znode. The values are harmless (long retentions).

// configsAdmin is a kadm client over every broker.
func (mc *migCluster) configsAdmin() *kadm.Client {
	return kadm.NewClient(mc.brokers[1].client(mc.t, kgo.SeedBrokers(mc.seeds()...)))
}

// setupConfigs is step 1's dynamic broker configs, written by a
// ZooKeeper-mode broker.
func (mc *migCluster) setupConfigs(ctx context.Context) {
	t := mc.t
	t.Helper()
	adm := mc.configsAdmin()
	for _, alt := range []struct {
		brokers []int32
		key     string
		value   string
	}{{nil, "log.retention.ms", "604800001"}, {[]int32{2}, "log.cleaner.delete.retention.ms", "86400001"}} {
		res, err := adm.AlterBrokerConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: alt.key, Value: kadm.StringPtr(alt.value)}}, alt.brokers...)
		if err == nil && len(res) == 1 {
			err = res[0].Err
		}
		if err != nil {
			t.Fatalf("set %s in ZooKeeper mode: %v", alt.key, err)
		}
	}
	if got := zkGet(t, mc.raw, "/config/brokers/<default>"); got != `{"version":1,"config":{"log.retention.ms":"604800001"}}` {
		t.Fatalf("/config/brokers/<default> = %s", got)
	}
	mc.configsHold("ZooKeeper mode")
}

// configsHold checks that broker 2 describes step 1's configs with their
// sources.
func (mc *migCluster) configsHold(what string) {
	t := mc.t
	t.Helper()
	adm := mc.configsAdmin()
	wait.For(t, migWait, what+": broker 2 describes the dynamic configs", func() error {
		ctx, cancel := context.WithTimeout(context.Background(), migWait)
		defer cancel()
		rcs, err := adm.DescribeBrokerConfigs(ctx, 2)
		if err != nil {
			return err
		}
		rc, err := rcs.On("2", nil)
		if err == nil {
			err = rc.Err
		}
		if err != nil {
			return err
		}
		want := map[string]string{"log.retention.ms": "604800001 DYNAMIC_DEFAULT_BROKER_CONFIG",
			"log.cleaner.delete.retention.ms": "86400001 DYNAMIC_BROKER_CONFIG"}
		for _, c := range rc.Configs {
			if w, ok := want[c.Key]; ok {
				if got := c.MaybeValue() + " " + c.Source.String(); got != w {
					return fmt.Errorf("%s = %s, want %s", c.Key, got, w)
				}
				delete(want, c.Key)
			}
		}
		if len(want) > 0 {
			return fmt.Errorf("not described: %v", want)
		}
		return nil
	})
}

// configsDualWrite: while the quorum dual-writes, a broker config set
// through a broker (a migrating ZooKeeper-mode one: migrate.BrokerSource
// forwards it to the quorum) reaches /config/brokers/3 with a
// /config/changes notification.
func (mc *migCluster) configsDualWrite() {
	t := mc.t
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), migWait)
	defer cancel()
	res, err := mc.configsAdmin().AlterBrokerConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "log.retention.bytes",
		Value: kadm.StringPtr("1099511627776")}}, 3)
	if err == nil && len(res) == 1 {
		err = res[0].Err
	}
	if err != nil {
		t.Fatalf("set log.retention.bytes of broker 3 during dual-write: %v", err)
	}
	wait.For(t, migWait, "broker 3's config dual-written to /config/brokers/3", func() error {
		data, _, err := mc.raw.Get("/config/brokers/3")
		if err != nil || string(data) != `{"version":1,"config":{"log.retention.bytes":"1099511627776"}}` {
			return fmt.Errorf("/config/brokers/3 = %s (%v)", data, err)
		}
		changes, _, err := mc.raw.Children("/config/changes")
		if err != nil {
			return err
		}
		for _, c := range changes {
			if data, _, err := mc.raw.Get("/config/changes/" + c); err == nil && strings.Contains(string(data), `"entity_path":"brokers/3"`) {
				return nil
			}
		}
		return fmt.Errorf("no /config/changes notification for brokers/3 among %d", len(changes))
	})
}
