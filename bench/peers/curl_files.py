"""Peer: curl moving the same file through the same streaming endpoints as
bench_wrenn_files (WIRE.md §10.7, §10.8), run as a child process; its peak
resident set is the child's ru_maxrss.

usage: curl_files.py upload   BASE_URL API_KEY ID REMOTE_PATH LOCAL_FILE
       curl_files.py download BASE_URL API_KEY ID REMOTE_PATH LOCAL_FILE EXPECTED_BYTES
The upload is the multipart form of §10.7 (`path` part first, then `file`),
without `Expect: 100-continue`; the download writes LOCAL_FILE. Prints the
same "result ..." line as bench_wrenn_files (curl's own time_total)."""
import json
import os
import resource
import subprocess
import sys

mode, base, key, cap_id, remote, local = sys.argv[1:7]
common = ["curl", "-sS", "-H", f"X-API-Key: {key}", "-w", "%{http_code} %{time_total} %{size_upload} %{size_download}"]
if mode == "upload":
    url = f"{base}/v1/capsules/{cap_id}/files/stream/write"
    cmd = common + ["-o", "/dev/null", "-H", "Expect:", "-F", f"path={remote}",
                    "-F", f"file=@{local};filename=upload.bin;type=application/octet-stream", url]
    expected = os.path.getsize(local)
else:
    url = f"{base}/v1/capsules/{cap_id}/files/stream/read"
    cmd = common + ["-o", local, "-H", "Content-Type: application/json", "--data-binary",
                    json.dumps({"path": remote}), url]
    expected = int(sys.argv[7])
done = subprocess.run(cmd, capture_output=True, text=True)
peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
try:
    status, seconds, up, down = done.stdout.split()
    seconds = float(seconds)
except ValueError:
    status, seconds, up, down = "000", 0.0, "0", "0"
moved = expected if mode == "upload" and status == "204" else int(float(down))
if mode == "download" and os.path.exists(local):
    moved = os.path.getsize(local)
ok = done.returncode == 0 and status in ("200", "204") and moved == expected
print(f"result bytes={moved} errors={0 if ok else 1} seconds={seconds:.3f} "
      f"mib_per_s={moved / 1048576 / seconds if seconds else 0:.1f} baseline_kib=0 peak_kib={peak_kib}", flush=True)
if not ok:
    print(f"curl_files: FAILED: {mode} status {status}, {moved} of {expected} bytes, curl exit {done.returncode}: "
          f"{done.stderr.strip()}", file=sys.stderr)
sys.exit(0 if ok else 1)
