// A certified OpenID Connect provider (the npm package oidc-provider) for the OpenID Connect
// log-in tests. Its configuration comes as JSON in OIDC_TEST_CONFIG: issuer, port, one client,
// the private signing keys (JWK; the first signs) and the users with their groups. The dev
// interactions log anyone in whose login name is one of the users (any password).
import { pathToFileURL } from 'node:url';

const cfg = JSON.parse(process.env.OIDC_TEST_CONFIG);
const lib = `${process.env.OIDC_PROVIDER_DIR}/node_modules/oidc-provider/lib/index.js`;
const { default: Provider } = await import(pathToFileURL(lib).href);

const provider = new Provider(cfg.issuer, {
  clients: [{
    client_id: cfg.client_id,
    client_secret: cfg.client_secret,
    redirect_uris: [cfg.redirect_uri],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  jwks: { keys: cfg.keys },
  scopes: ['openid', 'profile', 'email', 'groups'],
  claims: {
    openid: ['sub'],
    profile: ['preferred_username', 'name'],
    email: ['email'],
    groups: ['groups'],
  },
  conformIdTokenClaims: cfg.conform_id_token_claims ?? true,
  pkce: { required: () => true },
  features: { devInteractions: { enabled: true } },
  cookies: { keys: ['lookout-test-cookie-key'] },
  ttl: { IdToken: 3600, AccessToken: 3600, AuthorizationCode: 60 },
  async findAccount(ctx, id) {
    const user = cfg.users[id];
    if (!user) return undefined;
    return { accountId: id, async claims() { return { sub: id, ...user }; } };
  },
});
provider.listen(cfg.port, '127.0.0.1', () => console.log('oidc-provider ready'));
