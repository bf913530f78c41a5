package com.example.legacy;

import com.squareup.okhttp.CertificatePinner;

class LegacyPins {
    // OkHttp 2.x era configuration
    static CertificatePinner pinner() {
        return new CertificatePinner.Builder()
                .add("api.example.com", "sha1/BOGUSBOGUSBOGUSBOGUSBOGUSBOG=")
                .build();
    }
}
