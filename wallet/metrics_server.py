"""``python -m wallet.metrics_server --port P``: the metrics of every process sharing ``PROMETHEUS_MULTIPROC_DIR``,
on a loopback port of their own (wallet/metrics.py; ``make cluster`` starts it)."""
from wallet.metrics import main

if __name__ == "__main__":
    main()
