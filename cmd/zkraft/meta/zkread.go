package meta

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	gozk "github.com/go-zookeeper/zk"

	zkmeta "github.com/zkraft/zkraft/metadata/zk"
)

func init() { loadZkTree = readZkTree }

// readZkTree reads, without watches and without writing anything, the part
// of a Kafka ZooKeeper tree that metadata records describe, decoding each
// znode with metadata/zk's codecs. connect is host:port[,host:port][/chroot].
// The client's goroutines end when it returns.
func readZkTree(ctx context.Context, connect string) (*zkmeta.Tree, error) {
	servers, chroot := connect, ""
	if i := strings.IndexByte(connect, '/'); i >= 0 {
		servers, chroot = connect[:i], strings.TrimSuffix(connect[i:], "/")
	}
	conn, _, err := gozk.Connect(strings.Split(servers, ","), 10*time.Second, gozk.WithLogInfo(false))
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	for conn.State() != gozk.StateHasSession {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	abs := func(p string) string { return chroot + p }
	get := func(p string) ([]byte, *gozk.Stat, bool, error) {
		data, st, err := conn.Get(abs(p))
		if errors.Is(err, gozk.ErrNoNode) {
			return nil, nil, false, nil
		}
		if err != nil {
			return nil, nil, false, fmt.Errorf("get %s: %w", p, err)
		}
		return data, st, true, nil
	}
	children := func(p string) ([]string, error) {
		names, _, err := conn.Children(abs(p))
		if errors.Is(err, gozk.ErrNoNode) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", p, err)
		}
		return names, nil
	}

	tree := zkmeta.NewTree()
	if data, _, ok, err := get(zkmeta.ClusterIDPath); err != nil {
		return nil, err
	} else if ok {
		if tree.ClusterID, err = zkmeta.DecodeClusterID(data); err != nil {
			return nil, fmt.Errorf("%s: %w", zkmeta.ClusterIDPath, err)
		}
	}
	ids, err := children(zkmeta.BrokerIDsPath)
	if err != nil {
		return nil, err
	}
	for _, name := range ids {
		id, err := zkmeta.ParseBrokerID(name)
		if err != nil {
			continue // not a broker znode
		}
		data, st, ok, err := get(zkmeta.BrokerPath(id))
		if err != nil || !ok {
			if err != nil {
				return nil, err
			}
			continue
		}
		zn, err := zkmeta.DecodeBroker(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", zkmeta.BrokerPath(id), err)
		}
		tree.Brokers[id] = zkmeta.BrokerNode{ZNode: zn, Czxid: st.Czxid}
	}
	topics, err := children(zkmeta.BrokerTopicsPath)
	if err != nil {
		return nil, err
	}
	for _, name := range topics {
		data, _, ok, err := get(zkmeta.TopicPath(name))
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		zn, err := zkmeta.DecodeTopic(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", zkmeta.TopicPath(name), err)
		}
		tn := &zkmeta.TopicNode{ZNode: zn, States: map[int32]zkmeta.StateNode{}}
		for p := range zn.Partitions {
			data, st, ok, err := get(zkmeta.PartitionStatePath(name, p))
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
			ps, err := zkmeta.DecodePartitionState(data)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", zkmeta.PartitionStatePath(name, p), err)
			}
			tn.States[p] = zkmeta.StateNode{State: ps, ZkVersion: st.Version}
		}
		tree.Topics[name] = tn
	}
	for _, typ := range []string{zkmeta.ConfigTopics, zkmeta.ConfigBrokers} {
		names, err := children(zkmeta.ConfigPath + "/" + typ)
		if err != nil {
			return nil, err
		}
		for _, name := range names {
			p := zkmeta.EntityConfigPath(typ, name)
			data, _, ok, err := get(p)
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
			cfg, err := zkmeta.DecodeEntityConfig(data)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", p, err)
			}
			if len(cfg) > 0 {
				tree.Configs[zkmeta.ConfigEntity{Type: typ, Name: name}] = cfg
			}
		}
	}
	if data, _, ok, err := get(zkmeta.ProducerIDBlockPath); err != nil {
		return nil, err
	} else if ok && len(data) > 0 {
		blk, err := zkmeta.DecodeProducerIDBlock(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", zkmeta.ProducerIDBlockPath, err)
		}
		tree.ProducerIDs = &blk
	}
	return tree, nil
}
