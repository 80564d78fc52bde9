"""A real clickhouse-server (Debian's) for the tests: started as an
unprivileged-style process on loopback from a small config written here,
its data in a directory of ours; stopped and started again on the same
data (a restart)."""
import os
import signal
import subprocess
import time
import urllib.request

from tap import free_port

CONFIG = """<yandex>
  <logger><level>warning</level><console>1</console></logger>
  <http_port>{http}</http_port>
  <tcp_port>{tcp}</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <path>{dir}/data/</path>
  <tmp_path>{dir}/tmp/</tmp_path>
  <user_files_path>{dir}/user_files/</user_files_path>
  <format_schema_path>{dir}/format_schemas/</format_schema_path>
  <users_config>{dir}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>268435456</mark_cache_size>
</yandex>
"""
USERS = """<yandex>
  <profiles><default/></profiles>
  <users>
    <default>
      <password></password>
      <networks><ip>127.0.0.1</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </default>
  </users>
  <quotas><default/></quotas>
</yandex>
"""


class ClickHouse:
    def __init__(self, directory):
        self.dir = directory
        self.http = free_port()
        self.tcp = free_port()
        self.proc = None
        os.makedirs(directory, exist_ok=True)
        with open(directory + "/config.xml", "w") as f:
            f.write(CONFIG.format(http=self.http, tcp=self.tcp, dir=directory))
        with open(directory + "/users.xml", "w") as f:
            f.write(USERS)
        self.url = "http://127.0.0.1:%d/" % self.http

    def start(self, secs=60):
        """Starts the server; True once it answers /ping."""
        self.proc = subprocess.Popen(
            ["clickhouse-server", "--config-file=" + self.dir + "/config.xml"],
            stdout=subprocess.DEVNULL,
            stderr=open(self.dir + "/server.log", "a"))
        end = time.time() + secs
        while time.time() < end and self.proc.poll() is None:
            try:
                with urllib.request.urlopen(self.url + "ping", timeout=2) as r:
                    if r.read() == b"Ok.\n":
                        return True
            except OSError:
                time.sleep(0.1)
        return False

    def stop(self):
        """A clean shutdown (SIGTERM), waited for."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def query(self, sql):
        """The answer's rows, each a list of TabSeparated fields."""
        req = urllib.request.Request(self.url, data=sql.encode())
        with urllib.request.urlopen(req, timeout=60) as r:
            text = r.read().decode()
        return [line.split("\t") for line in text.splitlines()]
