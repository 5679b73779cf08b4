package metrics

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/zkraft/zkraft/metadata"
)

// Registry is one process's metrics: its own prometheus.Registry (never
// the global default one, so tests and several nodes in one process do
// not share counters), the counters and histograms updated as requests
// are served, and the scrape-time collectors of node state (AddBroker,
// AddController, AddRaft, AddZooKeeper). Its methods are safe for
// concurrent use.
type Registry struct {
	reg *prometheus.Registry

	requests     *prometheus.CounterVec   // {request, listener}
	requestTime  *prometheus.HistogramVec // {request, listener}
	errors       *prometheus.CounterVec   // {request, error}
	messagesIn   *prometheus.CounterVec   // {topic}
	bytesIn      *prometheus.CounterVec   // {topic}
	bytesOut     *prometheus.CounterVec   // {topic}
	replBytesOut *prometheus.CounterVec   // {topic}
	replBytesIn  *prometheus.CounterVec   // {topic}
	isrShrinks   prometheus.Counter
	isrExpands   prometheus.Counter
	commitTime   prometheus.Histogram

	// images is the broker's image (AddBroker): topic names of fetches by id.
	images atomic.Pointer[func() *metadata.Image]
}

// New returns a Registry with the request and topic families, the ISR
// change counters, the raft commit histogram and Go's runtime and process
// collectors registered.
func New() *Registry {
	r := &Registry{reg: prometheus.NewRegistry()}
	r.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "kafka_network_requestmetrics_requests_total",
		Help: "Requests served, by API (Kafka's RequestMetrics RequestsPerSec) and listener.",
	}, []string{"request", "listener"})
	r.requestTime = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "kafka_network_requestmetrics_totaltime_seconds",
		Help: "Time from a request's decoding to its response being ready (Kafka's RequestMetrics TotalTimeMs), by API and listener.",
		// 0.5 ms to ~16 s: produce acks=1 is sub-millisecond, a long-polled
		// fetch waits up to fetch.max.wait.ms.
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
	}, []string{"request", "listener"})
	r.errors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "kafka_network_requestmetrics_errors_total",
		Help: "Error codes in responses, by API and Kafka error name, NONE included (Kafka's RequestMetrics ErrorsPerSec): one per partition for Produce and Fetch.",
	}, []string{"request", "error"})
	topic := func(name, help string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, []string{"topic"})
	}
	r.messagesIn = topic("kafka_server_brokertopicmetrics_messagesin_total",
		"Records appended by produce requests this broker led (BrokerTopicMetrics MessagesInPerSec).")
	r.bytesIn = topic("kafka_server_brokertopicmetrics_bytesin_total",
		"Record bytes appended by produce requests (BrokerTopicMetrics BytesInPerSec).")
	r.bytesOut = topic("kafka_server_brokertopicmetrics_bytesout_total",
		"Record bytes sent to consumers (BrokerTopicMetrics BytesOutPerSec).")
	r.replBytesOut = topic("kafka_server_brokertopicmetrics_replicationbytesout_total",
		"Record bytes sent to follower replicas (BrokerTopicMetrics ReplicationBytesOutPerSec).")
	r.replBytesIn = topic("kafka_server_brokertopicmetrics_replicationbytesin_total",
		"Record bytes this broker appended as a follower from its leaders' fetch responses (BrokerTopicMetrics ReplicationBytesInPerSec).")
	r.isrShrinks = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "kafka_server_replicamanager_isrshrinks_total",
		Help: "ISR shrinks this broker made as a partition leader (ReplicaManager IsrShrinksPerSec).",
	})
	r.isrExpands = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "kafka_server_replicamanager_isrexpands_total",
		Help: "ISR expansions this broker made as a partition leader (ReplicaManager IsrExpandsPerSec).",
	})
	r.commitTime = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "kafka_server_raftmetrics_commit_latency_seconds",
		Help:    "Time from the active controller's raft Apply to the entry committed and applied (raft-metrics commit-latency-avg/max).",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
	})
	r.reg.MustRegister(r.requests, r.requestTime, r.errors, r.messagesIn, r.bytesIn, r.bytesOut, r.replBytesOut, r.replBytesIn,
		r.isrShrinks, r.isrExpands, r.commitTime,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return r
}

// Gatherer is what /metrics serves.
func (r *Registry) Gatherer() prometheus.Gatherer { return r.reg }

// ObserveCommit records one raft write's time from Apply to applied (the
// quorum's Observer).
func (r *Registry) ObserveCommit(d time.Duration) { r.commitTime.Observe(d.Seconds()) }

// ReplicatedIn counts n record bytes this broker appended as a follower
// of topic (the replica manager's fetchers).
func (r *Registry) ReplicatedIn(topic string, n int) {
	r.replBytesIn.WithLabelValues(topic).Add(float64(n))
}

// ISRChanged counts one ISR change this broker asked for as a leader,
// from an ISR of before members to one of after.
func (r *Registry) ISRChanged(before, after int) {
	switch {
	case after < before:
		r.isrShrinks.Inc()
	case after > before:
		r.isrExpands.Inc()
	}
}

// topicName is id's name in the broker's image, "unknown" without one.
func (r *Registry) topicName(id [16]byte) string {
	if f := r.images.Load(); f != nil {
		if t, ok := (*f)().TopicByID(metadata.Uuid(id)); ok {
			return t.Name
		}
	}
	return "unknown"
}
