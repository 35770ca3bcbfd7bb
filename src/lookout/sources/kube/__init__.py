"""The Kubernetes data source: lists and watches clusters, reads kubelet stats or Prometheus."""
