//! A second device of alice: login, pending in `devices`, approval, the
//! identity key arriving with `listen`, sending from it, logout and removal.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Server, of_type, texts};

#[test]
fn second_device_is_approved_and_can_send() {
    let server = Server::start();
    let laptop = server.device();
    let bob = server.device();
    laptop.ok(&["register", "alice"]);
    bob.ok(&["register", "bob"]);

    let phone = server.device();
    let out = phone.ok(&["login", "alice"]);
    assert!(out.contains("zynk devices approve"), "{out}");
    let me = phone.json(&["whoami"]);
    assert_eq!(me[0]["approved"], false);
    let phone_id = me[0]["device_id"].as_str().unwrap().to_owned();

    let devices = laptop.json(&["devices"]);
    assert_eq!(devices.len(), 2);
    let new = devices
        .iter()
        .find(|d| d["id"] == phone_id.as_str())
        .unwrap();
    assert_eq!(new["pending"], true);
    assert_eq!(new["current"], false);
    let current = devices.iter().find(|d| d["current"] == true).unwrap();
    assert_eq!(current["verified"], true);
    assert!(laptop.ok(&["devices"]).contains("PENDING"));

    // Not approved yet: it cannot send.
    let e = phone.fails(&["send", "@bob", "too early"]);
    assert!(e.contains("not approved"), "{e}");

    let e = laptop.fails(&["devices", "approve", &uuid::Uuid::new_v4().to_string()]);
    assert!(e.contains("waiting for approval"), "{e}");
    laptop.ok(&["devices", "approve", &phone_id]);
    let got = phone.json(&["listen", "--once", "--timeout", "30"]);
    assert_eq!(of_type(&got, "approved").len(), 1, "{got:?}");
    assert_eq!(phone.json(&["whoami"])[0]["approved"], true);
    let devices = laptop.json(&["devices"]);
    assert!(
        devices
            .iter()
            .all(|d| d["verified"] == true && d["pending"] == false)
    );

    // The phone sends; bob and alice's laptop read it.
    phone.ok(&["send", "@bob", "from the phone"]);
    let got = bob.json(&["listen", "--count", "1", "--timeout", "30"]);
    assert_eq!(texts(&got), ["from the phone"]);
    assert_eq!(of_type(&got, "message")[0]["sender"], "alice");
    let got = laptop.json(&["listen", "--count", "1", "--timeout", "30"]);
    assert_eq!(texts(&got), ["from the phone"]);

    // Bob answers; both of alice's devices read it.
    bob.ok(&["send", "@alice", "hello both"]);
    for device in [&phone, &laptop] {
        let got = device.json(&["listen", "--count", "1", "--timeout", "30"]);
        assert_eq!(texts(&got), ["hello both"]);
    }

    // Logout leaves nothing usable; the laptop removes the device.
    phone.ok(&["logout"]);
    assert!(phone.fails(&["whoami"]).contains("no account"));
    assert!(!phone.path().join("state.bin").exists());
    let laptop_id = laptop.json(&["whoami"])[0]["device_id"].clone();
    let e = laptop.fails(&["devices", "remove", laptop_id.as_str().unwrap()]);
    assert!(e.contains("this device"), "{e}");
    laptop.ok(&["devices", "remove", &phone_id]);
    assert_eq!(laptop.json(&["devices"]).len(), 1);
}
