//! A tenant's rule writes: settings, domains, places, kiosks, attributes, rehosting.
