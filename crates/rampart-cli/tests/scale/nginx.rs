//! A real nginx (Debian's package) as the load balancer in front of demo servers, run
//! unprivileged with its own prefix, configuration and loopback port in a temporary directory.
//!
//! Requests are spread round-robin over the upstreams; a request with `X-Test-Backend: N`
//! goes to upstream N only (so a test can pick the instance that handles its login or logout
//! while still going through the proxy). nginx sends `X-Forwarded-For`, `X-Forwarded-Proto`
//! and `X-Forwarded-Host`, as a production proxy does.

use std::process::{Child, Command, Stdio};

use rampart_tests::TempDir;

use super::servers::free_port;

/// A running nginx; stopped when dropped.
pub struct Nginx {
    pub port: u16,
    child: Child,
    dir: TempDir,
}

fn config(port: u16, upstreams: &[u16], dir: &str) -> String {
    let servers: String = upstreams
        .iter()
        .map(|p| format!("    server 127.0.0.1:{p};\n"))
        .collect();
    let picks: String = upstreams
        .iter()
        .enumerate()
        .map(|(i, p)| format!("    {i} 127.0.0.1:{p};\n"))
        .collect();
    format!(
        r#"daemon off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 256; }}
http {{
  access_log {dir}/access.log;
  client_body_temp_path {dir}/body;
  proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fastcgi;
  uwsgi_temp_path {dir}/uwsgi;
  scgi_temp_path {dir}/scgi;
  upstream rampart {{
{servers}  }}
  map $http_x_test_backend $backend {{
    default rampart;
{picks}  }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://$backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $http_host;
      proxy_next_upstream off;
    }}
  }}
}}
"#
    )
}

impl Nginx {
    /// Starts nginx in front of the servers listening on `upstreams` (loopback ports).
    pub fn start(upstreams: &[u16]) -> Self {
        let nginx = ["/usr/sbin/nginx", "/usr/bin/nginx"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .unwrap_or_else(|| panic!("nginx not found (apt-get install nginx)"));
        let dir = TempDir::new("rampart-nginx").unwrap();
        let d = dir.path().display().to_string();
        let port = free_port();
        let conf = dir.path().join("nginx.conf");
        std::fs::write(&conf, config(port, upstreams, &d)).unwrap();
        let conf = conf.display().to_string();
        let args = ["-p", d.as_str(), "-c", conf.as_str(), "-e", "stderr"];
        let root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
        let mut cmd = if root {
            // Unprivileged: the whole server runs as `nobody`, which owns the directory.
            let status = Command::new("chown")
                .args(["-R", "nobody", &d])
                .status()
                .unwrap();
            assert!(status.success(), "chown nobody {d}");
            let mut c = Command::new("runuser");
            c.args(["-u", "nobody", "--", nginx]).args(args);
            c
        } else {
            let mut c = Command::new(nginx);
            c.args(args);
            c
        };
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start nginx: {e}"));
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "nginx did not listen on {port}"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Self { port, child, dir }
    }

    /// nginx's access log so far (for failure messages).
    pub fn access_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("access.log")).unwrap_or_default()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGQUIT to the master (its pid file) is nginx's graceful stop.
        let master = std::fs::read_to_string(self.dir.path().join("nginx.pid"))
            .map(|p| p.trim().to_owned())
            .unwrap_or_else(|_| self.child.id().to_string());
        let _ = Command::new("kill").args(["-QUIT", &master]).status();
        let _ = self.child.wait();
    }
}
