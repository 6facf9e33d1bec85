"""Reports a partner can send and IT can read (issue 8).

- `wallwatch report client CLIENT --month YYYY-MM`: the monthly per-client
  access report, one self-contained HTML file (client_data.py gathers,
  client_html.py and charts.py render, messages.py holds the texts in English
  and Chinese, chromium.py prints it to PDF when Chromium is installed);
- `wallwatch report access`: the permission audit of the client folders
  (access_scan.py reads the disk and the logged SDDL, access_report.py compares
  with the staff assignments and renders);
- `wallwatch report activity`: the health of the monitoring itself (activity.py).

All of it reads the store and the config; nothing here writes to the store.
"""
