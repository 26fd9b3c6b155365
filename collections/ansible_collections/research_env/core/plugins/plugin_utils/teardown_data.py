# Copyright: research-env contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Part of teardown's analysis (filter/teardown.py): what holds data (buckets, EFS, volumes, snapshots),
refused unless destroy_data, and the environment's KMS key, kept while data encrypted with it survives."""

from __future__ import annotations

from typing import Any

from ansible_collections.research_env.core.plugins.plugin_utils.teardown_resources import (
    BUCKET_COUNTS,
    name_of,
    tags_of,
)


class DataChecks:
    """The data parts of Analysis; they use its ours/add/block helpers and its found."""

    def data(self) -> None:
        """Buckets, file systems, volumes and snapshots: ours are refused unless destroy_data;
        anything else that the key encrypts blocks the plan (teardown never deletes it, and the
        key cannot go while it exists)."""
        found = self.found
        usage = found.get("key_usage") or {}
        contents = {r.get("name") or r["item"]["name"]: r for r in found.get("bucket_contents", [])}
        self.unscanned: list[str] = []
        for bucket in found.get("buckets", []):
            name = bucket["name"]
            if bucket.get("object_scan") == "limit_reached":
                self.unscanned.append(f"bucket {name}: {bucket.get('versions_not_checked', '?')} object versions")
            if self.ours(bucket):
                held = contents.get(name, {})
                counts = {k: held.get(k, 0) for k in BUCKET_COUNTS}
                has_data = bool(counts["versions"] or counts["delete_markers"])
                if has_data and not self.destroy_data:
                    self.refusals.append(
                        f"bucket {name}: {counts['versions']} object versions ({counts['current_objects']} current), "
                        f"{counts['delete_markers']} delete markers"
                    )
                    self.key_users_kept.append(f"bucket {name}")
                self.add("bucket", name, {"name": name}, details=counts)
                continue
            uses = []
            if bucket.get("default_uses_key"):
                uses.append("its default encryption is the environment's KMS key")
            if bucket.get("objects_with_key_count"):
                sample = ", ".join(o["key"] for o in (bucket.get("objects_with_key") or [])[:3])
                uses.append(f"{bucket['objects_with_key_count']} object versions are encrypted with it ({sample})")
            if uses:
                self.key_users_kept.append(f"bucket {name}")
                self.block(
                    "bucket",
                    name,
                    name,
                    f"{'; '.join(uses)}, but the bucket lacks the environment's tags "
                    f"(Environment={self.env_tags['Environment']}, ManagedBy={self.env_tags['ManagedBy']}), "
                    "so teardown will not destroy it, and the key cannot be scheduled for deletion "
                    "while it holds that data",
                    "if it is the environment's bucket, put its tags back (aws s3api put-bucket-tagging) and run "
                    "teardown again; otherwise copy its objects under another key (aws s3 cp --recursive "
                    "--sse aws:kms --sse-kms-key-id <other key>) and change its default encryption first",
                )
            elif name == found.get("configured_bucket"):
                self.notes.append(
                    f"bucket {name} has the configured name but neither the environment's tags nor its key: left alone"
                )

        for fs in found.get("file_systems", []):
            fid = fs["file_system_id"]
            if self.ours(fs):
                if not self.destroy_data:
                    self.refusals.append(f"EFS file system {fid} ({name_of(fs)})")
                    self.key_users_kept.append(f"EFS file system {fid}")
                self.add("efs", fid, fs)
        for fs in usage.get("file_systems", []):
            fid = fs["file_system_id"]
            if not any(e["type"] == "efs" and e["id"] == fid for e in self.plan):
                self.key_users_kept.append(f"EFS file system {fid}")
                self.block(
                    "efs",
                    fid,
                    name_of(fs),
                    "is encrypted with the environment's KMS key but lacks the environment's tags",
                    "copy its data elsewhere and delete it, or put the environment's tags on it, "
                    "then run teardown again",
                )

        our_instance_ids = set(self.our_instances)
        for vol in usage.get("volumes", []):
            vid = vol["volume_id"]
            attached = {a.get("instance_id") for a in vol.get("attachments") or []}
            if vid in self.volumes_with_instances:
                continue
            if attached & our_instance_ids or self.ours(vol):
                self.volumes_surviving.setdefault(vid, {"volume_id": vid})
                self.volumes_surviving[vid].update(size_gb=vol.get("size"), tags=tags_of(vol))
                continue
            self.key_users_kept.append(f"volume {vid}")
            where = (
                f"attached to {', '.join(sorted(a for a in attached if a))}" if attached - {None} else "not attached"
            )
            self.block(
                "volume",
                vid,
                name_of(vol),
                f"is encrypted with the environment's KMS key ({where}) but lacks the environment's tags",
                f"copy what it holds, then delete it (aws ec2 delete-volume --volume-id {vid}), "
                "or put the environment's tags on it, and run teardown again",
            )
        for vid, vol in sorted(self.volumes_surviving.items()):
            if not self.destroy_data:
                self.refusals.append(
                    f"EBS volume {vid}"
                    + (f" of {vol['instance_id']} ({vol.get('device')})" if vol.get("instance_id") else "")
                    + " survives its instance's termination (DeleteOnTermination false)"
                )
                self.key_users_kept.append(f"volume {vid}")
            self.add(
                "volume", vid, vol, details={k: v for k, v in vol.items() if k in ("instance_id", "size_gb", "device")}
            )

        images_by_snapshot: dict[str, list[str]] = {}
        for image in usage.get("images", []):
            for sid in image.get("snapshot_ids") or []:
                images_by_snapshot.setdefault(sid, []).append(image.get("image_id"))
        for snap in usage.get("snapshots", []):
            sid = snap["snapshot_id"]
            images = images_by_snapshot.get(sid, [])
            if self.ours(snap) and not images:
                if not self.destroy_data:
                    self.refusals.append(f"EBS snapshot {sid} ({name_of(snap)})")
                    self.key_users_kept.append(f"snapshot {sid}")
                self.add("snapshot", sid, snap)
                continue
            self.key_users_kept.append(f"snapshot {sid}")
            used_by = f", and images {', '.join(images)} are made from it" if images else ""
            self.block(
                "snapshot",
                sid,
                name_of(snap),
                f"(of volume {snap.get('volume_id')}) is encrypted with the environment's KMS key{used_by}; "
                "research-env does not make snapshots",
                (f"deregister {', '.join(images)} (aws ec2 deregister-image), then " if images else "")
                + f"copy it under another key (aws ec2 copy-snapshot --kms-key-id ...) or delete it "
                f"(aws ec2 delete-snapshot --snapshot-id {sid}), and run teardown again",
            )

    def key(self) -> None:
        """The environment's key: under its alias, or named by its bucket or EFS when the alias was
        removed; its tags say it is research-env's for this environment, or are gone (removed by hand).
        A key under the alias that carries another owner's tags is not touched."""
        alias = (self.found.get("key_alias") or "").removeprefix("alias/")
        keys = []
        for k in self.found.get("kms_keys", []):
            tags = k.get("tags") or {}
            owner = {t: tags.get(t) for t in ("Environment", "ManagedBy") if t in tags}
            if owner and owner != self.env_tags:
                self.notes.append(
                    f"KMS key {k['key_id']} carries the tags {owner}, not this environment's: left alone."
                )
                continue
            if not owner:
                self.notes.append(
                    f"KMS key {k['key_id']} lost its tags; it is this environment's by its use and alias."
                )
            if alias and alias not in (k.get("aliases") or []):
                self.notes.append(f"KMS key {k['key_id']} has lost its alias alias/{alias}; found by what it encrypts.")
            keys.append(k)
        for key in keys:
            alias = ", ".join(key.get("aliases") or [])
            if key.get("key_state") in ("PendingDeletion", "PendingReplicaDeletion"):
                if self.key_users_kept:
                    self.block(
                        "kms_key",
                        key["key_id"],
                        alias,
                        f"is already scheduled for deletion (on {key.get('deletion_date', '?')}) while data encrypted "
                        f"with it survives ({', '.join(self.key_users_kept)}): that data becomes unreadable then",
                        f"cancel the deletion now (aws kms cancel-key-deletion --key-id {key['key_id']} && "
                        f"aws kms enable-key --key-id {key['key_id']}), then run teardown again",
                    )
                continue
            entry: dict[str, Any] = {"details": {"alias": alias}}
            if self.unscanned:
                entry["keep_because"] = (
                    "these could not all be checked for data encrypted with it (teardown_key_scan_limit): "
                    + "; ".join(self.unscanned)
                )
            self.add("kms_key", key["key_id"], {"name": alias}, alias=(key.get("aliases") or [""])[0], **entry)
