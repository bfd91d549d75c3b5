//! The status page's branding, kept in `settings`: page name, site link, footer links and the
//! uploaded logo (base64, with its type and a short hash so readers need not load it to know
//! whether it changed). Every change announces the status page, which is built again.

use super::tx::sql;
use super::{Store, StoreError};
use app::domain::branding::Branding;
use app::domain::live::Topic;
use base64::Engine;

/// Branding as stored; the logo only by type and hash.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredBranding {
    /// Name, site and footer links (`page_name` is empty when never set).
    pub branding: Branding,
    /// `(content type, hash)` of the uploaded logo.
    pub logo: Option<(String, String)>,
}

const KEYS: [&str; 3] = ["page_name", "brand_site_url", "brand_footer_links"];
const LOGO_KEYS: [&str; 3] = ["brand_logo", "brand_logo_type", "brand_logo_hash"];

async fn put(tx: &mut super::tx::Tx, key: &str, value: Option<&str>) -> Result<(), StoreError> {
    match value {
        Some(v) => {
            tx.execute(
                sql("INSERT INTO settings (key, value) VALUES ($1, $2) \
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value")
                .bind(key)
                .bind(v),
            )
            .await?;
        }
        None => {
            tx.execute(sql("DELETE FROM settings WHERE key = $1").bind(key))
                .await?;
        }
    }
    Ok(())
}

impl Store {
    /// The stored branding.
    pub async fn branding(&self) -> Result<StoredBranding, StoreError> {
        let links: Vec<(String, String)> = match self.setting("brand_footer_links").await? {
            Some(json) => serde_json::from_str(&json)
                .map_err(|e| StoreError::Corrupt(format!("footer links: {e}")))?,
            None => Vec::new(),
        };
        let logo = match (
            self.setting("brand_logo_type").await?,
            self.setting("brand_logo_hash").await?,
        ) {
            (Some(t), Some(h)) => Some((t, h)),
            _ => None,
        };
        Ok(StoredBranding {
            branding: Branding {
                page_name: self.setting("page_name").await?.unwrap_or_default(),
                site_url: self.setting("brand_site_url").await?,
                footer_links: links,
            },
            logo,
        })
    }

    /// The uploaded logo's bytes.
    pub async fn logo(&self) -> Result<Option<Vec<u8>>, StoreError> {
        match self.setting("brand_logo").await? {
            Some(b64) => base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map(Some)
                .map_err(|e| StoreError::Corrupt(format!("logo: {e}"))),
            None => Ok(None),
        }
    }

    /// Saves name, site and footer links.
    pub async fn save_branding(&self, b: &Branding) -> Result<(), StoreError> {
        let links = serde_json::to_string(&b.footer_links)
            .map_err(|e| StoreError::Corrupt(format!("footer links: {e}")))?;
        let mut tx = self.begin().await?;
        let values = [
            Some(b.page_name.as_str()),
            b.site_url.as_deref(),
            Some(&links),
        ];
        for (key, value) in KEYS.iter().zip(values) {
            put(&mut tx, key, value).await?;
        }
        tx.announce(Topic::StatusPage);
        tx.commit().await
    }

    /// Stores a checked logo (`(content type, bytes)`), or removes it (`None`).
    pub async fn set_logo(&self, logo: Option<(&str, &[u8])>) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        let values = logo.map(|(ty, bytes)| {
            use sha2::Digest;
            let hash: String = sha2::Sha256::digest(bytes)[..8]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            [
                base64::engine::general_purpose::STANDARD.encode(bytes),
                ty.to_string(),
                hash,
            ]
        });
        for (i, key) in LOGO_KEYS.iter().enumerate() {
            put(&mut tx, key, values.as_ref().map(|v| v[i].as_str())).await?;
        }
        tx.announce(Topic::StatusPage);
        tx.commit().await
    }
}
