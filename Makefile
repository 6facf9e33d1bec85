# Two entry points for a fresh Debian 12 machine: `make run` and `make test`.
VENV     := .venv
PY       := $(VENV)/bin/python
PIP      := $(VENV)/bin/pip
CONFIG   ?= deploy/examples/dev.yaml
# Debian packages the test suite starts for real (servers and their clients)
TEST_DEBS := samba smbclient rsyslog openssh-server auditd acl prometheus \
             chromium fonts-wqy-microhei logrotate systemd slapd fail2ban sec

.PHONY: run test lint typecheck unit debs venv venv-test event clean bench chaos

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml
	$(PIP) install -q -e '.[test]'
	touch $@

venv: $(VENV)/.installed
venv-test: $(VENV)/.installed-test

run: venv
	@mkdir -p var/log/samba
	@touch var/log/samba/audit.log
	$(VENV)/bin/wallwatch -c $(CONFIG) run

# Append one Samba audit record (bob reads a file of acme's) to the dev log.
event:
	@mkdir -p var/log/samba
	@printf '[%s,  1] ../../source3/modules/vfs_full_audit.c:643(do_log)\n  bob|192.0.2.10|BOB-PC|clients|create_file|ok|0x89|file|open|/srv/share/clients/acme/2024年发票汇总.xlsx\n[%s,  1] ../../source3/modules/vfs_full_audit.c:643(do_log)\n  bob|192.0.2.10|BOB-PC|clients|pread_recv|ok|/srv/share/clients/acme/2024年发票汇总.xlsx\n' \
	  "$$(TZ=Asia/Shanghai date '+%Y/%m/%d %H:%M:%S.%6N')" "$$(TZ=Asia/Shanghai date '+%Y/%m/%d %H:%M:%S.%6N')" >> var/log/samba/audit.log
	@echo "appended a read of acme by bob to var/log/samba/audit.log"

debs:
	@missing=""; for p in $(TEST_DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

lint: venv-test
	$(VENV)/bin/ruff check monitor tests
	$(VENV)/bin/mypy

test: debs venv-test lint
	$(VENV)/bin/pytest -q -p no:cacheprovider tests

# The fault suite at full size (tests/chaos/): SIGKILLs over ~1M events, 100 rotations,
# Elasticsearch down 10 minutes and flaky, mail down, clock jumps, a full state volume.
# About an hour on 2 cores; writes the tables in docs/RELIABILITY.md. Needs root (tmpfs).
chaos: debs venv-test
	$(PY) -m tests.chaos.report

# The benchmark (bench/README.md): Wallwatch against fail2ban-regex and SEC on generated
# logs, 1M lines per file, medians of 3 runs. Takes a long while; prints markdown.
bench: debs venv
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
