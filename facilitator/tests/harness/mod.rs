//! Shared set-up of the facilitator's end-to-end tests: a private anvil with the project deployed
//! by the real deploy script, funded payers, a fresh PostgreSQL database and the real
//! `x402-facilitator` binary listening on a free port.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use alloy::network::EthereumWallet;
use alloy::primitives::{keccak256, Address, B256, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use x402_client::budget::Budget;
use x402_client::header::{PaymentPayload, SettleResponse};
use x402_client::pay::{pay, PayOptions};
use x402_client::requirements::{caip2, PaymentRequired, PaymentRequirements, SettlementExtra};
use x402_protocol::{EscrowResponse, VerifyResponse};
use x402_testkit::{wallets, AnvilOptions, DevChain, TestDb, TokenInfo, Traffic};

/// A running facilitator binary; killed on drop.
pub struct Facilitator {
    child: Option<Child>,
    /// Base URL.
    pub url: String,
    /// Its log file.
    pub log: PathBuf,
}

impl Facilitator {
    /// Stops the process (SIGKILL: nothing gets to clean up, like a crash).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// The log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Facilitator {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Where the unmodified x402 SDK packages are installed (`facilitator/sdk-e2e`, pinned by its
/// lock file).
pub fn sdk_dir() -> PathBuf {
    x402_testkit::paths::repo_root().join("facilitator/sdk-e2e")
}

/// The hex form of a key, as the SDK scripts read it from their environment.
pub fn key_hex(k: &PrivateKeySigner) -> String {
    format!("0x{}", alloy::hex::encode(k.to_bytes()))
}

/// Runs `node <script>` in [`sdk_dir`] with `vars` in its environment (on a blocking thread, so
/// the facilitator and the chain keep serving) and returns the JSON object it printed last. A
/// script that fails, outlives `limit` or prints no JSON fails the test with its output and the
/// facilitator's log.
pub async fn run_sdk_script(
    script: &str,
    vars: Vec<(&'static str, String)>,
    limit: Duration,
    f: &Facilitator,
) -> serde_json::Value {
    let run = tokio::task::spawn_blocking({
        let script = script.to_string();
        move || {
            Command::new("node")
                .arg(script)
                .current_dir(sdk_dir())
                .envs(vars)
                .output()
                .expect("running node (Node.js 20+ is required)")
        }
    });
    let out = tokio::time::timeout(limit, run)
        .await
        .unwrap_or_else(|_| panic!("node {script} finished within {limit:?}"))
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "node {script} failed ({}):\n{stderr}\n{stdout}\nfacilitator log:\n{}",
        out.status,
        f.log_text()
    );
    eprintln!("SDK results of {script}: {stdout}");
    serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{script} printed no result JSON ({e}):\n{stdout}\n{stderr}"))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Everything a test talks to.
pub struct Env {
    /// Chain and deployment.
    pub chain: DevChain,
    /// Funded payers (index 0.. ) and payees.
    pub traffic: Traffic,
    /// The database the facilitator uses.
    pub db: TestDb,
    /// The payment token (USDC, 6 decimals).
    pub token: TokenInfo,
    /// HTTP client.
    pub http: reqwest::Client,
    /// The facilitator's address.
    pub facilitator: Address,
}

/// One token unit of USDC (6 decimals).
pub const USDC: u64 = 1_000_000;

impl Env {
    /// anvil (automine unless `block_time`), deployment, `payers` funded payers, two payees.
    pub async fn start(payers: usize, block_time: Option<Duration>) -> Self {
        let chain = DevChain::start_with(AnvilOptions {
            block_time,
            ..Default::default()
        })
        .await
        .expect("anvil + deploy");
        let mut traffic = Traffic::new(
            &chain.anvil.url(),
            chain.deployment.clone(),
            &format!("fac-{}", x402_testkit::unique_suffix()),
        )
        .await
        .expect("traffic");
        traffic
            .fund(payers, 2, 1_000)
            .await
            .expect("funding payers");
        let db = TestDb::create().await.expect("test database");
        let token = chain
            .deployment
            .token("USDC")
            .expect("USDC deployed")
            .clone();
        Self {
            chain,
            traffic,
            db,
            token,
            http: reqwest::Client::new(),
            facilitator: wallets::facilitator().address(),
        }
    }

    /// Starts the facilitator binary with `extra` arguments and waits until it serves.
    pub async fn facilitator(&self, extra: &[&str]) -> Facilitator {
        let port = free_port();
        let dir = x402_testkit::paths::scratch_dir("facilitator").unwrap();
        let log = dir.join("facilitator.log");
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_x402-facilitator"))
            .args(["--rpc-url", &self.chain.anvil.url()])
            .arg("--deployment")
            .arg(&self.chain.deployment_file)
            .args([
                "--database-url",
                &self.db.url(),
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--receipt-poll-ms",
                "20",
            ])
            .args(extra)
            .env("FACILITATOR_PRIVATE_KEY", wallets::FACILITATOR_KEY)
            .env("RUST_LOG", "info,x402_facilitator=debug")
            .stdout(Stdio::from(out.try_clone().unwrap()))
            .stderr(Stdio::from(out))
            .spawn()
            .expect("spawning x402-facilitator");
        let f = Facilitator {
            child: Some(child),
            url: format!("http://127.0.0.1:{port}"),
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = self.http.get(format!("{}/supported", f.url)).send().await {
                if r.status().is_success() {
                    return f;
                }
            }
            assert!(
                Instant::now() < deadline,
                "facilitator did not start:\n{}",
                f.log_text()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A requirement for `amount` of USDC to payee 0 through this facilitator.
    pub fn requirements(&self, scheme: &str, amount: U256, request: &str) -> PaymentRequirements {
        let d = &self.chain.deployment;
        PaymentRequirements {
            scheme: scheme.into(),
            network: caip2(d.chain_id),
            amount,
            asset: self.token.address,
            pay_to: self.payee(0),
            max_timeout_seconds: 300,
            resource: None,
            description: None,
            mime_type: None,
            extra: SettlementExtra {
                settlement: d.settlement,
                permit2: d.permit2,
                facilitator: self.facilitator,
                request_hash: keccak256(request.as_bytes()),
                max_facilitator_fee_bps: 100,
                authorization_seconds: Some(3600),
                refund_seconds: Some(7200),
                name: Some("USDC".into()),
            },
        }
    }

    /// Payee `i`'s address.
    pub fn payee(&self, i: usize) -> Address {
        self.traffic.payees[i].address()
    }

    /// Payer `i`'s key.
    pub fn payer(&self, i: usize) -> PrivateKeySigner {
        self.traffic.payers[i].clone()
    }

    /// Signs `req` as `signer` with the client library (budget large enough).
    pub async fn sign(
        &self,
        signer: &PrivateKeySigner,
        req: &PaymentRequirements,
        opts: PayOptions,
    ) -> PaymentPayload {
        let required = PaymentRequired {
            x402_version: 2,
            error: None,
            resource: None,
            accepts: vec![req.clone()],
            extensions: None,
        };
        let mut budget = Budget::new(U256::MAX, U256::MAX);
        pay(signer, &required, &mut budget, &opts)
            .await
            .expect("signing a payment")
            .payload
    }

    /// POST a JSON body.
    pub async fn post<T: serde::de::DeserializeOwned>(
        &self,
        f: &Facilitator,
        path: &str,
        body: &serde_json::Value,
    ) -> T {
        let r = self
            .http
            .post(format!("{}{path}", f.url))
            .json(body)
            .send()
            .await
            .expect("request");
        let status = r.status();
        let text = r.text().await.unwrap();
        serde_json::from_str(&text).unwrap_or_else(|e| {
            panic!(
                "{path} answered {status} {text}: {e}\nlog:\n{}",
                f.log_text()
            )
        })
    }

    /// `/verify`.
    pub async fn verify(
        &self,
        f: &Facilitator,
        payload: &PaymentPayload,
        req: &PaymentRequirements,
    ) -> VerifyResponse {
        self.post(f, "/verify", &serde_json::json!({"x402Version": 2, "paymentPayload": payload, "paymentRequirements": req})).await
    }

    /// `/settle` with evidence (and, for upto, an amount).
    pub async fn settle(
        &self,
        f: &Facilitator,
        payload: &PaymentPayload,
        req: &PaymentRequirements,
        evidence: B256,
        amount: Option<U256>,
    ) -> SettleResponse {
        let mut body = serde_json::json!({"x402Version": 2, "paymentPayload": payload, "paymentRequirements": req, "evidenceHash": evidence});
        if let Some(a) = amount {
            body["amount"] = serde_json::Value::String(a.to_string());
        }
        self.post(f, "/settle", &body).await
    }

    /// `/escrow/authorize`.
    pub async fn authorize(
        &self,
        f: &Facilitator,
        payload: &PaymentPayload,
        req: &PaymentRequirements,
    ) -> SettleResponse {
        self.post(
            f,
            "/escrow/authorize",
            &serde_json::json!({"paymentPayload": payload, "paymentRequirements": req}),
        )
        .await
    }

    /// `/escrow/capture`.
    pub async fn capture(
        &self,
        f: &Facilitator,
        id: B256,
        amount: U256,
        evidence: B256,
    ) -> EscrowResponse {
        self.post(f, "/escrow/capture", &serde_json::json!({"paymentId": id, "amount": amount.to_string(), "evidenceHash": evidence})).await
    }

    /// A provider that signs as `signer` (for set-up transactions).
    pub fn provider_as(&self, signer: &PrivateKeySigner) -> DynProvider {
        ProviderBuilder::new()
            .wallet(EthereumWallet::from(signer.clone()))
            .connect_http(self.chain.anvil.url().parse().unwrap())
            .erased()
    }

    /// A read-only provider.
    pub fn reader(&self) -> DynProvider {
        ProviderBuilder::new()
            .connect_http(self.chain.anvil.url().parse().unwrap())
            .erased()
    }

    /// USDC balance of `who`.
    pub async fn balance(&self, who: Address) -> U256 {
        x402_bindings::IERC20::new(self.token.address, self.reader())
            .balanceOf(who)
            .call()
            .await
            .unwrap()
    }

    /// The `PaymentCharged` events of `payment_id`.
    pub async fn charged_events(
        &self,
        payment_id: B256,
    ) -> Vec<(B256, x402_bindings::X402Settlement::PaymentCharged)> {
        use alloy::sol_types::SolEvent;
        let filter = alloy::rpc::types::Filter::new()
            .address(self.chain.deployment.settlement)
            .event_signature(x402_bindings::X402Settlement::PaymentCharged::SIGNATURE_HASH)
            .topic1(payment_id)
            .from_block(0u64);
        let logs = self.reader().get_logs(&filter).await.unwrap();
        logs.iter()
            .map(|l| {
                (
                    l.transaction_hash.unwrap(),
                    l.log_decode::<x402_bindings::X402Settlement::PaymentCharged>()
                        .unwrap()
                        .inner
                        .data,
                )
            })
            .collect()
    }
}

/// Permit2's canonical address, the one the x402 SDK signs for (`PERMIT2_ADDRESS`).
pub const CANONICAL_PERMIT2: Address =
    alloy::primitives::address!("0x000000000022D473030F116dDEE9F6B43aC78BA3");

impl Env {
    async fn set_code(&self, at: Address, code: &alloy::primitives::Bytes) {
        let () = self
            .reader()
            .raw_request("anvil_setCode".into(), (at, code))
            .await
            .expect("anvil_setCode");
    }

    /// Puts Permit2 and x402's two Permit2 proxies where the x402 SDK expects them on a real
    /// chain: Permit2 at its canonical address, the proxies at `x402ExactPermit2ProxyAddress` /
    /// `x402UptoPermit2ProxyAddress`.
    ///
    /// Permit2 is the deployment's, relocated: its runtime code caches the EIP-712 domain
    /// separator of the address it was created at (an immutable), so that value is replaced by
    /// the canonical address's separator. The proxies are the test fixtures of `tests/x402proxy/`
    /// (an independent implementation of the interface the SDK publishes; x402's own bytecode is
    /// not available offline), created with `PERMIT2 = canonical` (an immutable in their runtime
    /// code, so the copy needs no storage) and copied with `anvil_setCode`.
    pub async fn place_x402_proxies(&self) {
        use alloy::network::TransactionBuilder;
        use alloy::primitives::{keccak256, Bytes};
        use alloy::sol_types::SolValue;
        use x402_bindings::{x402ExactPermit2Proxy, Permit2};
        let reader = self.reader();
        let deployed = self.chain.deployment.permit2;
        let cached = Permit2::new(deployed, &reader)
            .DOMAIN_SEPARATOR()
            .call()
            .await
            .expect("Permit2.DOMAIN_SEPARATOR");
        let separator = |at: Address| {
            keccak256(
                (
                    keccak256(
                        "EIP712Domain(string name,uint256 chainId,address verifyingContract)",
                    ),
                    keccak256("Permit2"),
                    U256::from(self.chain.deployment.chain_id),
                    at,
                )
                    .abi_encode(),
            )
        };
        assert_eq!(cached, separator(deployed), "Permit2's cached separator");
        let mut code = reader.get_code_at(deployed).await.unwrap().to_vec();
        let (old, new) = (cached.as_slice(), separator(CANONICAL_PERMIT2));
        let mut replaced = 0;
        let mut i = 0;
        while i + 32 <= code.len() {
            if &code[i..i + 32] == old {
                code[i..i + 32].copy_from_slice(new.as_slice());
                replaced += 1;
                i += 32;
            } else {
                i += 1;
            }
        }
        assert!(
            replaced > 0,
            "Permit2's runtime code embeds its domain separator"
        );
        self.set_code(CANONICAL_PERMIT2, &Bytes::from(code)).await;
        assert_eq!(
            Permit2::new(CANONICAL_PERMIT2, &reader)
                .DOMAIN_SEPARATOR()
                .call()
                .await
                .unwrap(),
            separator(CANONICAL_PERMIT2),
            "relocated Permit2 signs for its canonical address"
        );

        let deployer = self.provider_as(&wallets::deployer());
        for (name, at) in [
            (
                "x402ExactPermit2Proxy",
                x402_domain::X402_EXACT_PERMIT2_PROXY,
            ),
            ("x402UptoPermit2Proxy", x402_domain::X402_UPTO_PERMIT2_PROXY),
        ] {
            let path = x402_testkit::paths::repo_root().join(format!("out/{name}.sol/{name}.json"));
            let artifact: serde_json::Value = serde_json::from_str(
                &std::fs::read_to_string(&path)
                    .unwrap_or_else(|e| panic!("{}: {e} (run forge build)", path.display())),
            )
            .unwrap();
            let mut init: Vec<u8> = artifact["bytecode"]["object"]
                .as_str()
                .unwrap()
                .parse::<Bytes>()
                .unwrap()
                .to_vec();
            init.extend_from_slice(&CANONICAL_PERMIT2.abi_encode());
            let receipt = deployer
                .send_transaction(
                    alloy::rpc::types::TransactionRequest::default()
                        .input(alloy::rpc::types::TransactionInput::new(init.into()))
                        .into_create(),
                )
                .await
                .unwrap()
                .get_receipt()
                .await
                .unwrap();
            let created = receipt.contract_address.expect("created");
            let code = reader.get_code_at(created).await.unwrap();
            self.set_code(at, &code).await;
            assert_eq!(
                x402ExactPermit2Proxy::new(at, &reader)
                    .PERMIT2()
                    .call()
                    .await
                    .unwrap(),
                CANONICAL_PERMIT2,
                "{name} at {at} settles through the canonical Permit2"
            );
        }
    }

    /// `owner` approves the canonical Permit2 for all its USDC.
    pub async fn approve_canonical_permit2(&self, owner: &PrivateKeySigner) {
        x402_bindings::IERC20::new(self.token.address, self.provider_as(owner))
            .approve(CANONICAL_PERMIT2, U256::MAX)
            .send()
            .await
            .unwrap()
            .get_receipt()
            .await
            .unwrap();
    }
}
