//! Unit tests of the card core, one APDU at a time, without pcscd.

use super::*;
use p256::ecdsa::signature::hazmat::PrehashVerifier;

const SERIAL: u32 = 99_000_001;

fn h(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// Sends an APDU, returns (data, sw).
fn tx(card: &mut Card, apdu: &[u8]) -> (Vec<u8>, u16) {
    let mut r = card.execute(apdu);
    assert!(r.len() >= 2, "response without SW");
    let sw = r.split_off(r.len() - 2);
    (r, u16::from_be_bytes([sw[0], sw[1]]))
}

fn sw_of(card: &mut Card, apdu: &[u8]) -> u16 {
    tx(card, apdu).1
}

fn fresh(fw: [u8; 3]) -> Card {
    let mut c = Card::new(Config::new(SERIAL, fw));
    assert_eq!(sw_of(&mut c, &h("00A4040005A000000308")), 0x9000);
    c
}

fn pin_apdu(pin: &[u8]) -> Vec<u8> {
    let mut v = h("0020008008");
    v.extend(pad8(pin));
    v
}

/// Mutual authentication with a given key, as the yubikey crate does it.
fn mgm_auth(card: &mut Card, alg: u8, key: &[u8]) -> u16 {
    let mgm = MgmKey {
        alg,
        key: key.to_vec(),
        touch: false,
    };
    let n = mgm.block_len();
    let (d, sw) = tx(card, &[0, 0x87, alg, 0x9B, 4, 0x7C, 2, 0x80, 0]);
    if sw != 0x9000 {
        return sw;
    }
    assert_eq!(&d[..4], &[0x7C, (n + 2) as u8, 0x80, n as u8]);
    let mut witness = d[4..].to_vec();
    mgm.crypt(&mut witness, false).unwrap();
    let challenge = vec![0x5Au8; n];
    let mut inner = tlv(0x80, &witness);
    inner.extend(tlv(0x81, &challenge));
    let body = tlv(0x7C, &inner);
    let mut apdu = vec![0, 0x87, alg, 0x9B, body.len() as u8];
    apdu.extend(body);
    let (d, sw) = tx(card, &apdu);
    if sw == 0x9000 {
        let mut expected = challenge;
        mgm.crypt(&mut expected, true).unwrap();
        assert_eq!(d, tlv(0x7C, &tlv(0x82, &expected)));
    }
    sw
}

fn generate(card: &mut Card, slot: u8, pin: u8, touch: u8) -> (Vec<u8>, u16) {
    tx(
        card,
        &[
            0, 0x47, 0, slot, 11, 0xAC, 9, 0x80, 1, 0x11, 0xAA, 1, pin, 0xAB, 1, touch,
        ],
    )
}

fn ecdh_apdu(slot: u8, point: &[u8]) -> Vec<u8> {
    let mut inner = tlv(0x82, &[]);
    inner.extend(tlv(0x85, point));
    let body = tlv(0x7C, &inner);
    let mut apdu = vec![0, 0x87, 0x11, slot, body.len() as u8];
    apdu.extend(body);
    apdu
}

fn sign_apdu(slot: u8, hash: &[u8]) -> Vec<u8> {
    let mut inner = tlv(0x82, &[]);
    inner.extend(tlv(0x81, hash));
    let body = tlv(0x7C, &inner);
    let mut apdu = vec![0, 0x87, 0x11, slot, body.len() as u8];
    apdu.extend(body);
    apdu
}

#[test]
fn select_version_serial() {
    let mut c = Card::new(Config::new(SERIAL, FW_5_7_1));
    // Nothing selected after power-on.
    assert_eq!(sw_of(&mut c, &h("00FD000000")), 0x6D00);
    let (d, sw) = tx(&mut c, &h("00A4040005A000000308"));
    assert_eq!(sw, 0x9000);
    assert_eq!(d[0], 0x61);
    assert_eq!(tx(&mut c, &h("00FD000000")), (vec![5, 7, 1], 0x9000));
    assert_eq!(
        tx(&mut c, &h("00F8000000")),
        (SERIAL.to_be_bytes().to_vec(), 0x9000)
    );
    assert_eq!(sw_of(&mut c, &h("00A4040003010203")), 0x6A82);
    assert_eq!(sw_of(&mut c, &h("00A4040008A000000527471117")), 0x9000);
    assert_eq!(sw_of(&mut c, &h("00FD000000")), 0x6D00);
}

#[test]
fn verify_pin_retries_and_block() {
    let mut c = fresh(FW_5_7_1);
    assert_eq!(sw_of(&mut c, &h("0020008000")), 0x63C3);
    assert_eq!(sw_of(&mut c, &pin_apdu(b"000000")), 0x63C2);
    assert_eq!(sw_of(&mut c, &pin_apdu(b"123456")), 0x9000);
    // Verified: the empty VERIFY says so; retries back to 3.
    assert_eq!(sw_of(&mut c, &h("0020008000")), 0x9000);
    assert_eq!(c.pin_tries_left(), 3);
    // SELECT clears the verified state.
    assert_eq!(sw_of(&mut c, &h("00A4040005A000000308")), 0x9000);
    assert_eq!(sw_of(&mut c, &h("0020008000")), 0x63C3);
    // P1=FF un-verifies.
    assert_eq!(sw_of(&mut c, &pin_apdu(b"123456")), 0x9000);
    assert_eq!(sw_of(&mut c, &h("0020FF8000")), 0x9000);
    assert_eq!(sw_of(&mut c, &h("0020008000")), 0x63C3);
    for left in (0..3).rev() {
        assert_eq!(sw_of(&mut c, &pin_apdu(b"999999")), 0x63C0 | left);
    }
    assert_eq!(sw_of(&mut c, &pin_apdu(b"123456")), 0x6983);
    assert_eq!(sw_of(&mut c, &h("0020008000")), 0x6983);
    // Malformed VERIFY.
    assert_eq!(sw_of(&mut c, &h("00200080023132")), 0x6A80);
    assert_eq!(sw_of(&mut c, &h("00200081083132333435363738")), 0x6A86);
}

#[test]
fn change_pin_puk_and_unblock() {
    let mut c = fresh(FW_5_4_3);
    let mut apdu = h("0024008010");
    apdu.extend(pad8(b"123456"));
    apdu.extend(pad8(b"654321"));
    assert_eq!(sw_of(&mut c, &apdu), 0x9000);
    assert_eq!(sw_of(&mut c, &pin_apdu(b"654321")), 0x9000);
    // Too-short new PIN is refused.
    let mut apdu = h("0024008010");
    apdu.extend(pad8(b"654321"));
    apdu.extend(pad8(b"12"));
    assert_eq!(sw_of(&mut c, &apdu), 0x6A80);
    // Wrong old PUK counts down.
    let mut apdu = h("0024008110");
    apdu.extend(pad8(b"00000000"));
    apdu.extend(pad8(b"87654321"));
    assert_eq!(sw_of(&mut c, &apdu), 0x63C2);
    let mut apdu = h("0024008110");
    apdu.extend(pad8(b"12345678"));
    apdu.extend(pad8(b"87654321"));
    assert_eq!(sw_of(&mut c, &apdu), 0x9000);
    // Block the PIN, unblock with the PUK.
    for _ in 0..3 {
        sw_of(&mut c, &pin_apdu(b"000000"));
    }
    assert_eq!(c.pin_tries_left(), 0);
    let mut apdu = h("002C008010");
    apdu.extend(pad8(b"87654321"));
    apdu.extend(pad8(b"11112222"));
    assert_eq!(sw_of(&mut c, &apdu), 0x9000);
    assert_eq!(c.pin_tries_left(), 3);
    assert_eq!(sw_of(&mut c, &pin_apdu(b"11112222")), 0x9000);
}

#[test]
fn management_key_3des_and_aes() {
    let mut c = fresh(FW_5_4_3);
    assert_eq!(mgm_auth(&mut c, 0x0A, &DEFAULT_MGM_KEY), 0x6A86);
    assert_eq!(mgm_auth(&mut c, 0x03, &[9u8; 24]), 0x6982);
    assert_eq!(mgm_auth(&mut c, 0x03, &DEFAULT_MGM_KEY), 0x9000);

    let mut c = fresh(FW_5_7_1);
    assert_eq!(mgm_auth(&mut c, 0x03, &DEFAULT_MGM_KEY), 0x6A86);
    assert_eq!(mgm_auth(&mut c, 0x0A, &DEFAULT_MGM_KEY), 0x9000);
    // Change to AES-128 and AES-256, then 3DES.
    for (alg, len) in [(0x08u8, 16usize), (0x0C, 32), (0x03, 24)] {
        let key: Vec<u8> = (0..len as u8).map(|i| i.wrapping_mul(7) ^ alg).collect();
        let mut apdu = vec![0, 0xFF, 0xFF, 0xFF, (len + 3) as u8, alg, 0x9B, len as u8];
        apdu.extend(&key);
        assert_eq!(sw_of(&mut c, &apdu), 0x9000, "set alg {alg:02x}");
        assert_eq!(mgm_auth(&mut c, alg, &key), 0x9000, "auth alg {alg:02x}");
        let (d, sw) = tx(&mut c, &h("00F7009B00"));
        assert_eq!(sw, 0x9000);
        assert_eq!(&d[..3], &[1, 1, alg]);
    }
    // Wrong key length for the algorithm.
    assert_eq!(
        sw_of(
            &mut c,
            &h("00FFFFFF13089B1000112233445566778899AABBCCDDEEFF")[..20]
        ),
        0x6700
    );
    let mut bad = vec![0, 0xFF, 0xFF, 0xFF, 19, 0x0A, 0x9B, 16];
    bad.extend([0u8; 16]);
    assert_eq!(sw_of(&mut c, &bad), 0x6A80);
    // SET MANAGEMENT KEY without authentication.
    sw_of(&mut c, &h("00A4040005A000000308"));
    let mut apdu = vec![0, 0xFF, 0xFF, 0xFF, 27, 0x03, 0x9B, 24];
    apdu.extend(DEFAULT_MGM_KEY);
    assert_eq!(sw_of(&mut c, &apdu), 0x6982);
}

#[test]
fn one_way_management_authentication() {
    let mut c = fresh(FW_5_4_3);
    let (d, sw) = tx(&mut c, &h("0087039B047C028100"));
    assert_eq!(sw, 0x9000);
    let mut block = d[4..].to_vec();
    let mgm = MgmKey::default_for(FW_5_4_3);
    mgm.crypt(&mut block, true).unwrap();
    let mut apdu = h("0087039B0C7C0A8208");
    apdu.extend(&block);
    assert_eq!(sw_of(&mut c, &apdu), 0x9000);
    // A response without a pending challenge is refused.
    assert_eq!(sw_of(&mut c, &apdu), 0x6985);
}

#[test]
fn generate_sign_ecdh_with_pin_policies() {
    let mut c = fresh(FW_5_7_1);
    // Generation needs the management key.
    assert_eq!(generate(&mut c, 0x82, 2, 1).1, 0x6982);
    assert_eq!(mgm_auth(&mut c, 0x0A, &DEFAULT_MGM_KEY), 0x9000);
    let (d, sw) = generate(&mut c, 0x82, 2, 1);
    assert_eq!(sw, 0x9000);
    assert_eq!(&d[..5], &[0x7F, 0x49, 0x43, 0x86, 0x41]);
    let public = PublicKey::from_sec1_bytes(&d[5..]).unwrap();
    assert_eq!(c.public_key(0x82), Some(public));

    // PIN policy once: refused before VERIFY, fine after, for the session.
    let hash = [0x11u8; 32];
    assert_eq!(sw_of(&mut c, &sign_apdu(0x82, &hash)), 0x6982);
    assert_eq!(sw_of(&mut c, &pin_apdu(b"123456")), 0x9000);
    let (d, sw) = tx(&mut c, &sign_apdu(0x82, &hash));
    assert_eq!(sw, 0x9000);
    assert_eq!(d[0], 0x7C);
    let (inner, _) = parse_tlv(&d).unwrap();
    let (sig, _) = parse_tlv(inner.value).unwrap();
    assert_eq!(sig.tag, 0x82);
    let sig = p256::ecdsa::Signature::from_der(sig.value).unwrap();
    p256::ecdsa::VerifyingKey::from(&public)
        .verify_prehash(&hash, &sig)
        .unwrap();

    // ECDH: the x coordinate of d·P.
    let eph = SecretKey::generate_from_rng(&mut rand::rng());
    let eph_point = eph.public_key().to_sec1_point(false);
    let (d, sw) = tx(&mut c, &ecdh_apdu(0x82, eph_point.as_bytes()));
    assert_eq!(sw, 0x9000);
    let expected = (ProjectivePoint::from(*public.as_affine()) * *eph.to_nonzero_scalar())
        .to_affine()
        .to_sec1_point(false);
    assert_eq!(d[..4], [0x7C, 0x22, 0x82, 0x20]);
    assert_eq!(&d[4..], expected.x().unwrap().as_slice());
    // Invalid point.
    let mut bad = eph_point.as_bytes().to_vec();
    bad[64] ^= 1;
    assert_eq!(sw_of(&mut c, &ecdh_apdu(0x82, &bad)), 0x6A80);

    // PIN policy always: only right after VERIFY.
    assert_eq!(generate(&mut c, 0x83, 3, 1).1, 0x9000);
    assert_eq!(sw_of(&mut c, &sign_apdu(0x83, &hash)), 0x6982);
    assert_eq!(sw_of(&mut c, &pin_apdu(b"123456")), 0x9000);
    assert_eq!(sw_of(&mut c, &sign_apdu(0x83, &hash)), 0x9000);
    assert_eq!(sw_of(&mut c, &sign_apdu(0x83, &hash)), 0x6982);

    // PIN policy never.
    assert_eq!(generate(&mut c, 0x84, 1, 1).1, 0x9000);
    sw_of(&mut c, &h("00A4040005A000000308"));
    assert_eq!(sw_of(&mut c, &sign_apdu(0x84, &hash)), 0x9000);
    // Empty slot, wrong algorithm, bad slot.
    assert_eq!(sw_of(&mut c, &sign_apdu(0x85, &hash)), 0x6A88);
    let mut apdu = sign_apdu(0x84, &hash);
    apdu[2] = 0x14;
    assert_eq!(sw_of(&mut c, &apdu), 0x6A80);
    assert_eq!(sw_of(&mut c, &sign_apdu(0x42, &hash)), 0x6A86);
}

#[test]
fn touch_never_times_out_with_6982() {
    let mut c = fresh(FW_5_7_1);
    mgm_auth(&mut c, 0x0A, &DEFAULT_MGM_KEY);
    assert_eq!(generate(&mut c, 0x82, 1, 2).1, 0x9000);
    assert_eq!(generate(&mut c, 0x83, 1, 3).1, 0x9000);
    let hash = [1u8; 32];
    assert_eq!(sw_of(&mut c, &sign_apdu(0x82, &hash)), 0x9000);
    c.set_touch(Touch::Never);
    assert_eq!(sw_of(&mut c, &sign_apdu(0x82, &hash)), 0x6982);
    assert_eq!(sw_of(&mut c, &sign_apdu(0x83, &hash)), 0x6982);
}

#[test]
fn generate_default_policies_and_metadata() {
    let mut c = fresh(FW_5_7_1);
    mgm_auth(&mut c, 0x0A, &DEFAULT_MGM_KEY);
    for (slot, pin) in [(0x9A, 2u8), (0x9C, 3), (0x9E, 1), (0x95, 2)] {
        let apdu = [0, 0x47, 0, slot, 5, 0xAC, 3, 0x80, 1, 0x11];
        assert_eq!(sw_of(&mut c, &apdu), 0x9000);
        let (d, sw) = tx(&mut c, &[0, 0xF7, 0, slot, 0]);
        assert_eq!(sw, 0x9000);
        assert_eq!(&d[..10], &[1, 1, 0x11, 2, 2, pin, 1, 3, 1, 1]);
        assert_eq!(&d[10..14], &[4, 0x43, 0x86, 0x41]);
    }
    assert_eq!(
        tx(&mut c, &h("00F7008000")),
        (h("0101FF 050101 06020303"), 0x9000)
    );
    assert_eq!(
        tx(&mut c, &h("00F7008100")),
        (h("0101FF 050101 06020303"), 0x9000)
    );
    assert_eq!(
        tx(&mut c, &h("00F7009B00")),
        (h("01010A 02020001 050101"), 0x9000)
    );
    assert_eq!(sw_of(&mut c, &h("00F7008200")), 0x6A88);
    let (d, sw) = tx(&mut c, &h("00F700F900"));
    assert_eq!(sw & 0xFF00, 0x6100); // RSA modulus: chained
    assert_eq!(d.len(), 256);
    // Unsupported algorithm and policy values.
    assert_eq!(
        sw_of(&mut c, &[0, 0x47, 0, 0x9A, 5, 0xAC, 3, 0x80, 1, 0x07]),
        0x6A80
    );
    assert_eq!(
        sw_of(
            &mut c,
            &[0, 0x47, 0, 0x9A, 8, 0xAC, 6, 0x80, 1, 0x11, 0xAA, 1, 9]
        ),
        0x6A80
    );
    assert_eq!(
        sw_of(&mut c, &[0, 0x47, 0, 0x9B, 5, 0xAC, 3, 0x80, 1, 0x11]),
        0x6A86
    );
    // Metadata is refused on old firmware.
    let mut old = fresh([4, 3, 7]);
    assert_eq!(sw_of(&mut old, &h("00F7008000")), 0x6D00);
}

#[test]
fn put_and_get_data_with_chaining() {
    let mut c = fresh(FW_5_4_3);
    assert_eq!(sw_of(&mut c, &h("00CB3FFF055C035FC105")), 0x6A82);
    let value: Vec<u8> = (0..600u32).map(|i| i as u8).collect();
    let mut body = tlv(0x5C, &[0x5F, 0xC1, 0x05]);
    body.extend(tlv(0x53, &value));
    // PUT DATA needs the management key.
    let first = [&[0x10, 0xDB, 0x3F, 0xFF, 0xFF][..], &body[..255]].concat();
    assert_eq!(sw_of(&mut c, &first), 0x9000);
    let rest = &body[255..];
    let mut chunks: Vec<&[u8]> = rest.chunks(255).collect();
    let last = chunks.pop().unwrap();
    for chunk in chunks {
        let apdu = [&[0x10, 0xDB, 0x3F, 0xFF, chunk.len() as u8][..], chunk].concat();
        assert_eq!(sw_of(&mut c, &apdu), 0x9000);
    }
    let apdu = [&[0x00, 0xDB, 0x3F, 0xFF, last.len() as u8][..], last].concat();
    assert_eq!(sw_of(&mut c, &apdu), 0x6982);

    mgm_auth(&mut c, 0x03, &DEFAULT_MGM_KEY);
    let mut sent = 0;
    while sent < body.len() {
        let n = (body.len() - sent).min(255);
        let cla = if sent + n < body.len() { 0x10 } else { 0x00 };
        let apdu = [&[cla, 0xDB, 0x3F, 0xFF, n as u8][..], &body[sent..sent + n]].concat();
        assert_eq!(sw_of(&mut c, &apdu), 0x9000);
        sent += n;
    }
    // GET DATA answers with 61xx and GET RESPONSE.
    let (mut got, mut sw) = tx(&mut c, &h("00CB3FFF055C035FC105"));
    assert_eq!(sw, 0x6100);
    while sw & 0xFF00 == 0x6100 {
        let (d, s) = tx(&mut c, &h("00C0000000"));
        got.extend(d);
        sw = s;
    }
    assert_eq!(sw, 0x9000);
    assert_eq!(got, tlv(0x53, &value));
    // GET RESPONSE with nothing pending.
    assert_eq!(sw_of(&mut c, &h("00C0000000")), 0x6985);
    // Delete with an empty 53.
    assert_eq!(sw_of(&mut c, &h("00DB3FFF075C035FC1055300")), 0x9000);
    assert_eq!(sw_of(&mut c, &h("00CB3FFF055C035FC105")), 0x6A82);
    // PIN-protected object needs the PIN.
    assert_eq!(sw_of(&mut c, &h("00DB3FFF0A5C035FC109530388017F")), 0x9000);
    assert_eq!(sw_of(&mut c, &h("00CB3FFF055C035FC109")), 0x6982);
    sw_of(&mut c, &pin_apdu(b"123456"));
    assert_eq!(
        tx(&mut c, &h("00CB3FFF055C035FC109")),
        (h("530388017F"), 0x9000)
    );
    // Oversized object.
    let big = vec![0u8; MAX_OBJECT + 1];
    let mut body = tlv(0x5C, &[0x5F, 0xC1, 0x05]);
    body.extend(tlv(0x53, &big));
    let mut sw = 0;
    let mut sent = 0;
    while sent < body.len() {
        let n = (body.len() - sent).min(255);
        let cla = if sent + n < body.len() { 0x10 } else { 0x00 };
        let apdu = [&[cla, 0xDB, 0x3F, 0xFF, n as u8][..], &body[sent..sent + n]].concat();
        sw = sw_of(&mut c, &apdu);
        sent += n;
    }
    assert_eq!(sw, 0x6A84);
    // Discovery object.
    let (d, sw) = tx(&mut c, &h("00CB3FFF035C017E"));
    assert_eq!(sw, 0x9000);
    assert_eq!(d[0], 0x7E);
}

#[test]
fn attestation_certificate_has_yubico_extensions() {
    let mut c = fresh(FW_5_7_1);
    assert_eq!(sw_of(&mut c, &h("00F9820000")), 0x6A88);
    mgm_auth(&mut c, 0x0A, &DEFAULT_MGM_KEY);
    generate(&mut c, 0x82, 2, 1);
    let (mut cert, mut sw) = tx(&mut c, &h("00F9820000"));
    while sw & 0xFF00 == 0x6100 {
        let (d, s) = tx(&mut c, &h("00C0000000"));
        cert.extend(d);
        sw = s;
    }
    assert_eq!(sw, 0x9000);
    assert_eq!(cert[0], 0x30);
    let find = |needle: &[u8]| cert.windows(needle.len()).any(|w| w == needle);
    // firmware, serial (DER INTEGER 99000001 = 0x05E69EC1), policies, form factor
    assert!(find(&h("2B0601040182C40A0303 0403 050701")));
    assert!(find(&h("2B0601040182C40A0307 0406 020405E69EC1")));
    assert!(find(&h("2B0601040182C40A0308 0402 0201")));
    assert!(find(&h("2B0601040182C40A0309 0401 03")));
    assert!(find(b"YubiKey PIV Attestation 82"));
    // F9 certificate object is present.
    let (d, sw) = tx(&mut c, &h("00CB3FFF055C035FFF01"));
    assert!(sw == 0x9000 || sw & 0xFF00 == 0x6100);
    assert_eq!(&d[..2], &[0x53, 0x82]);
}

#[test]
fn reset_only_when_pin_and_puk_blocked() {
    let mut c = fresh(FW_5_7_1);
    mgm_auth(&mut c, 0x0A, &DEFAULT_MGM_KEY);
    generate(&mut c, 0x82, 2, 1);
    assert_eq!(sw_of(&mut c, &h("00FB000000")), 0x6985);
    for _ in 0..3 {
        sw_of(&mut c, &pin_apdu(b"000000"));
        let mut apdu = h("0024008110");
        apdu.extend(pad8(b"00000000"));
        apdu.extend(pad8(b"00000000"));
        sw_of(&mut c, &apdu);
    }
    assert_eq!((c.pin_tries_left(), c.puk_tries_left()), (0, 0));
    assert_eq!(sw_of(&mut c, &h("00FB000000")), 0x9000);
    assert_eq!(c.public_key(0x82), None);
    assert_eq!(sw_of(&mut c, &pin_apdu(b"123456")), 0x9000);
    // F9 certificate survives reset.
    assert_ne!(sw_of(&mut c, &h("00CB3FFF055C035FFF01")), 0x6A82);
}

#[test]
fn set_pin_retries_needs_pin_and_mgm_and_resets_pins() {
    let mut c = fresh(FW_5_7_1);
    assert_eq!(sw_of(&mut c, &h("00FA050600")), 0x6982);
    let mut apdu = h("0024008010");
    apdu.extend(pad8(b"123456"));
    apdu.extend(pad8(b"24681357"));
    sw_of(&mut c, &apdu);
    mgm_auth(&mut c, 0x0A, &DEFAULT_MGM_KEY);
    sw_of(&mut c, &pin_apdu(b"24681357"));
    assert_eq!(sw_of(&mut c, &h("00FA050600")), 0x9000);
    assert_eq!(
        tx(&mut c, &h("00F7008000")),
        (h("0101FF 050101 06020505"), 0x9000)
    );
    assert_eq!(sw_of(&mut c, &h("0020008000")), 0x63C5);
    assert_eq!(sw_of(&mut c, &pin_apdu(b"123456")), 0x9000);
}

#[test]
fn power_cycle_clears_session_not_keys() {
    let mut c = fresh(FW_5_7_1);
    mgm_auth(&mut c, 0x0A, &DEFAULT_MGM_KEY);
    generate(&mut c, 0x82, 2, 1);
    sw_of(&mut c, &pin_apdu(b"123456"));
    c.power_cycle();
    assert_eq!(sw_of(&mut c, &h("00FD000000")), 0x6D00);
    sw_of(&mut c, &h("00A4040005A000000308"));
    assert_eq!(sw_of(&mut c, &sign_apdu(0x82, &[1; 32])), 0x6982);
    assert!(c.public_key(0x82).is_some());
}

#[test]
fn injected_faults_fire_once() {
    let mut c = fresh(FW_5_7_1);
    c.inject(Fault::StatusWord {
        ins: Some(0xFD),
        sw: 0x6F00,
    });
    assert_eq!(sw_of(&mut c, &h("00F8000000")), 0x9000);
    assert_eq!(sw_of(&mut c, &h("00FD000000")), 0x6F00);
    assert_eq!(sw_of(&mut c, &h("00FD000000")), 0x9000);
}

#[test]
fn malformed_apdus() {
    let mut c = fresh(FW_5_7_1);
    assert_eq!(sw_of(&mut c, &[]), 0x6700);
    assert_eq!(sw_of(&mut c, &[0, 0xFD]), 0x6700);
    assert_eq!(sw_of(&mut c, &h("00FD0000050102")), 0x6700);
    assert_eq!(sw_of(&mut c, &h("80FD000000")), 0x6E00);
    assert_eq!(sw_of(&mut c, &h("0012000000")), 0x6D00);
    assert_eq!(sw_of(&mut c, &h("00870382047C028000")), 0x6A88);
    assert_eq!(sw_of(&mut c, &h("0087039B037C0180")), 0x6A80);
    assert_eq!(sw_of(&mut c, &h("0087039B02AA00")), 0x6A80);
    assert_eq!(sw_of(&mut c, &h("00CB3FFF035C0201")), 0x6A80);
    assert_eq!(sw_of(&mut c, &h("00CB3FFE055C035FC105")), 0x6A86);
}

/// Fuzz-like: random and truncated APDUs never panic and always carry an SW.
#[test]
fn random_apdus_never_panic() {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let seeds: Vec<Vec<u8>> = vec![
        h("00A4040005A000000308"),
        h("0087039B047C028000"),
        h("00870A9B047C028000"),
        h("0047008205AC03800111"),
        h("00CB3FFF055C035FFF01"),
        h("00DB3FFF075C035FC1055300"),
        sign_apdu(0x82, &[7; 32]),
        ecdh_apdu(0x82, &[4; 65]),
        h("00F7009B00"),
        h("00F9820000"),
    ];
    for fw in [FW_5_4_3, FW_5_7_1] {
        let mut c = fresh(fw);
        mgm_auth(
            &mut c,
            if fw == FW_5_4_3 { 3 } else { 0x0A },
            &DEFAULT_MGM_KEY,
        );
        generate(&mut c, 0x82, 1, 1);
        for i in 0..5_000u32 {
            let r = next();
            let apdu: Vec<u8> = match i % 4 {
                0 => {
                    let len = (r % 300) as usize;
                    (0..len).map(|_| next() as u8).collect()
                }
                1 => {
                    let s = &seeds[(r % seeds.len() as u64) as usize];
                    s[..(next() as usize % (s.len() + 1))].to_vec()
                }
                _ => {
                    let mut s = seeds[(r % seeds.len() as u64) as usize].clone();
                    let idx = next() as usize % s.len();
                    s[idx] = next() as u8;
                    if next() % 2 == 0 {
                        s[0] = (next() as u8) & 0x10;
                    }
                    s
                }
            };
            let resp = c.execute(&apdu);
            assert!(resp.len() >= 2 && resp.len() <= 258, "{apdu:02x?}");
            if resp.len() > 2 {
                let sw1 = resp[resp.len() - 2];
                assert!(
                    sw1 == 0x90 || sw1 == 0x61,
                    "data with error SW: {apdu:02x?}"
                );
            }
        }
    }
}

#[test]
fn state_snapshot_sees_every_persistent_change_and_ignores_session_state() {
    let mut c = fresh(FW_5_7_1);
    let before = c.state();
    // Session-only activity leaves the snapshot unchanged.
    assert_eq!(sw_of(&mut c, &pin_apdu(b"123456")), 0x9000);
    assert_eq!(mgm_auth(&mut c, 0x0A, &DEFAULT_MGM_KEY), 0x9000);
    c.power_cycle();
    assert_eq!(
        c.state(),
        before,
        "verify/auth/power cycle changed the snapshot"
    );

    // A wrong PIN changes the counter.
    assert_eq!(sw_of(&mut c, &h("00A4040005A000000308")), 0x9000);
    assert_eq!(sw_of(&mut c, &pin_apdu(b"000000")), 0x63C2);
    let after_wrong = c.state();
    assert_ne!(after_wrong, before);
    assert_eq!(after_wrong.pin.left, 2);
    assert_eq!(sw_of(&mut c, &pin_apdu(b"123456")), 0x9000);
    assert_eq!(c.state(), before, "a right PIN restores the counter");

    // A PIN change keeps every public fact but the default flag, and the digest moves.
    assert_eq!(
        sw_of(&mut c, &h("00240080 10 313233343536FFFF 363534333231FFFF")),
        0x9000
    );
    let changed = c.state();
    assert!(!changed.pin.is_default);
    assert_ne!(changed.secrets_digest, before.secrets_digest);

    // Generating a key adds a slot; a certificate adds an object.
    let mut c = fresh(FW_5_7_1);
    let before = c.state();
    assert_eq!(mgm_auth(&mut c, 0x0A, &DEFAULT_MGM_KEY), 0x9000);
    assert_eq!(generate(&mut c, 0x82, 2, 2).1, 0x9000);
    let generated = c.state();
    assert_eq!(generated.slots.len(), 1);
    assert_eq!(generated.slots[&0x82].public_key.len(), 65);
    assert_eq!(generated.slots[&0x82].touch_policy, 2);
    assert_ne!(generated.secrets_digest, before.secrets_digest);
    assert_eq!(sw_of(&mut c, &h("00DB3FFF0A5C035FC10A5303700100")), 0x9000);
    assert!(c.state().objects.contains_key(&[0x5F, 0xC1, 0x0A]));
}

#[test]
fn extended_length_apdus_as_yubikit_sends_them() {
    let mut c = fresh(FW_5_7_1);
    // GET DATA of the discovery object, case 4E: 00 Lc(2) data Le(2).
    let (short, sw1) = tx(&mut c, &h("00CB3FFF 03 5C017E 00"));
    let (ext, sw2) = tx(&mut c, &h("00CB3FFF 000003 5C017E 0000"));
    assert_eq!((sw1, sw2), (0x9000, 0x9000));
    assert_eq!(short, ext);
    // Case 3E (no Le) and case 2E (extended Le only).
    assert_eq!(tx(&mut c, &h("00CB3FFF 000003 5C017E")).0, short);
    assert_eq!(
        tx(&mut c, &h("00FD0000 000000")),
        (FW_5_7_1.to_vec(), 0x9000)
    );
    // Inconsistent extended lengths are refused.
    assert_eq!(sw_of(&mut c, &h("00CB3FFF 000004 5C017E")), 0x6700);
    assert_eq!(sw_of(&mut c, &h("00CB3FFF 000003 5C017E 00")), 0x6700);
    assert_eq!(sw_of(&mut c, &h("00CB3FFF 000000 0000")), 0x6700);
    // A certificate over 256 bytes still comes back whole through 61xx.
    let (data, sw) = tx(&mut c, &h("00CB3FFF 000005 5C035FFF01 0000"));
    assert_eq!(sw >> 8, 0x61);
    assert_eq!(data.len(), 256);
}

#[test]
fn management_device_info_as_a_yubikey_5() {
    let mut c = Card::new(Config::new(SERIAL, FW_5_4_3));
    let (select, sw) = tx(&mut c, &h("00A4040008A000000527471117"));
    assert_eq!(sw, 0x9000);
    assert_eq!(select, b"5.4.3");
    let (info, sw) = tx(&mut c, &h("001D000000"));
    assert_eq!(sw, 0x9000);
    assert_eq!(usize::from(info[0]), info.len() - 1, "length prefix");
    let items = parse_all(&info[1..]).unwrap();
    let get = |tag: u16| {
        items
            .iter()
            .find(|t| t.tag == tag)
            .map(|t| t.value.to_vec())
    };
    assert_eq!(get(0x01), Some(vec![0x00, 0x10]), "PIV only");
    assert_eq!(get(0x02), Some(SERIAL.to_be_bytes().to_vec()));
    assert_eq!(get(0x03), Some(vec![0x00, 0x10]));
    assert_eq!(get(0x04), Some(vec![0x03]));
    assert_eq!(get(0x05), Some(FW_5_4_3.to_vec()));
    assert_eq!(get(0x0A), Some(vec![0x00]));
    // Firmware before 5.6 has no pages; PIV instructions are not management ones.
    assert_eq!(sw_of(&mut c, &h("001D010000")), 0x6A86);
    assert_eq!(sw_of(&mut c, &h("00FD000000")), 0x6D00);
    let mut c = Card::new(Config::new(SERIAL, FW_5_7_1));
    assert_eq!(sw_of(&mut c, &h("00A4040008A000000527471117")), 0x9000);
    assert_eq!(tx(&mut c, &h("001D010000")), (vec![0], 0x9000));
}

#[test]
fn state_text_round_trips_and_bad_files_are_named() {
    let mut c = fresh(FW_5_4_3);
    assert_eq!(mgm_auth(&mut c, 0x03, &DEFAULT_MGM_KEY), 0x9000);
    let (_, sw) = generate(&mut c, 0x82, 2, 3);
    assert_eq!(sw, 0x9000);
    assert_eq!(sw_of(&mut c, &h("00DB3FFF0A5C035FC10A5303700100")), 0x9000);
    assert_eq!(sw_of(&mut c, &pin_apdu(b"999999")), 0x63C2);
    c.set_touch(Touch::Never);
    let text = c.to_state_text();
    let loaded = Card::from_state_text(&text).unwrap();
    assert_eq!(loaded.state(), c.state());
    assert_eq!(loaded.config(), c.config());
    assert_eq!(loaded.to_state_text(), text);

    // The loaded card still answers with the same key.
    let mut loaded = loaded;
    loaded.set_touch(Touch::Immediate);
    assert_eq!(sw_of(&mut loaded, &h("00A4040005A000000308")), 0x9000);
    assert_eq!(sw_of(&mut loaded, &pin_apdu(b"123456")), 0x9000);
    let peer = SecretKey::generate_from_rng(&mut rand::rng());
    let point = peer.public_key().to_sec1_point(false);
    let (resp, sw) = tx(&mut loaded, &ecdh_apdu(0x82, point.as_bytes()));
    assert_eq!(sw, 0x9000);
    let expected = (ProjectivePoint::from(*c.public_key(0x82).unwrap().as_affine())
        * *peer.to_nonzero_scalar())
    .to_affine()
    .to_sec1_point(false);
    assert_eq!(&resp[resp.len() - 32..], expected.x().unwrap().as_slice());

    // Damaged files are refused with the line and the reason.
    let e = Card::from_state_text("hello\n").err().unwrap();
    assert!(e.contains("not a virtual card state file"), "{e}");
    let bad = text.replace("pin ", "pin zz");
    let e = Card::from_state_text(&bad).err().unwrap();
    assert!(e.starts_with("line 6:") && e.contains("not hex"), "{e}");
    let bad = text.replace("firmware 5.4.3\n", "");
    let e = Card::from_state_text(&bad).err().unwrap();
    assert!(e.contains("serial and firmware must come before"), "{e}");
    let truncated: String = text.lines().take(3).map(|l| format!("{l}\n")).collect();
    let e = Card::from_state_text(&truncated).err().unwrap();
    assert!(e.contains("ends before"), "{e}");
}

#[test]
fn state_files_are_private_and_refused_when_not() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alice.card");
    let c = fresh(FW_5_7_1);
    crate::persist::save(&c, &path).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert_eq!(crate::persist::load(&path).unwrap().state(), c.state());
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let e = crate::persist::load(&path).err().unwrap();
    assert!(e.contains("chmod 600"), "{e}");
}
