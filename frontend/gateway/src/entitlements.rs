//! BuildKit refuses a Definition whose ops need an entitlement the build was
//! not granted (`failed to load LLB: network.host is not allowed`), with no
//! vertex or source detail. The refused op is found again in the Definition
//! (the first exec with that network or security mode), so the message names
//! the step's YAML line and says how each client grants the entitlement.

use prost::Message;
use slipway_proto::pb;

/// An entitlement a step can need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entitlement {
    NetworkHost,
    SecurityInsecure,
}

impl Entitlement {
    pub fn id(self) -> &'static str {
        match self {
            Entitlement::NetworkHost => "network.host",
            Entitlement::SecurityInsecure => "security.insecure",
        }
    }

    /// The spec line that asks for it.
    pub fn spec_key(self) -> &'static str {
        match self {
            Entitlement::NetworkHost => "network: host",
            Entitlement::SecurityInsecure => "security: insecure",
        }
    }

    /// The refusal in a failed Solve's message, if it is one.
    pub fn refused(message: &str) -> Option<Entitlement> {
        [Entitlement::NetworkHost, Entitlement::SecurityInsecure]
            .into_iter()
            .find(|e| message.contains(&format!("{} is not allowed", e.id())))
    }

    fn wanted_by(self, e: &pb::ExecOp) -> bool {
        match self {
            Entitlement::NetworkHost => e.network == pb::NetMode::Host as i32,
            Entitlement::SecurityInsecure => e.security == pb::SecurityMode::Insecure as i32,
        }
    }

    /// How to grant it, per client.
    pub fn hint(self) -> String {
        let id = self.id();
        let docker = match self {
            Entitlement::NetworkHost => "`docker build --network host …`".to_string(),
            Entitlement::SecurityInsecure => {
                "`docker build` has no flag that asks for it: use buildx".to_string()
            }
        };
        format!(
            "grant the entitlement: `docker buildx build --allow {id} …` or `buildctl build --allow {id} …` \
             (the builder must permit it too: buildkitd `--allow-insecure-entitlement {id}`, or \
             `docker buildx create --buildkitd-flags '--allow-insecure-entitlement {id}'`); \
             with docker: {docker}; or remove `{}` from the step",
            self.spec_key()
        )
    }

    /// The digests of the ops that need it, in Definition order, and how many there are.
    pub fn ops(self, def: &pb::Definition) -> Vec<String> {
        def.def
            .iter()
            .filter(|b| {
                matches!(pb::Op::decode(b.as_slice()), Ok(pb::Op { op: Some(pb::op::Op::Exec(e)), .. }) if self.wanted_by(&e))
            })
            .map(|b| slipway_llb::digest(b))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognizes_refusals() {
        assert_eq!(
            Entitlement::refused("failed to load LLB: network.host is not allowed"),
            Some(Entitlement::NetworkHost)
        );
        assert_eq!(
            Entitlement::refused("failed to load LLB: security.insecure is not allowed"),
            Some(Entitlement::SecurityInsecure)
        );
        assert_eq!(Entitlement::refused("exit code: 1"), None);
        let h = Entitlement::NetworkHost.hint();
        assert!(
            h.contains("--allow network.host") && h.contains("--network host"),
            "{h}"
        );
    }
}
