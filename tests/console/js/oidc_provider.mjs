// A local OpenID Connect provider for the console's single sign-on tests: the `oidc-provider` package (certified
// OpenID Provider library) with its development login pages, one confidential client, and accounts whose claims
// come from their login name: `<name>` gets email <name>@example.com and groups from ACCOUNTS (JSON) or ["ml"].
// Usage: node oidc_provider.mjs PORT REDIRECT_URI CLIENT_ID CLIENT_SECRET [ACCOUNTS_JSON]
import Provider from 'oidc-provider';

const [port, redirectUri, clientId, clientSecret, accountsJson] = process.argv.slice(2);
const accounts = JSON.parse(accountsJson || '{}');

const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: [redirectUri],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  pkce: { required: () => true },
  scopes: ['openid', 'email', 'profile', 'groups'],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username'],
    groups: ['groups'],
  },
  features: { devInteractions: { enabled: true } },
  cookies: { keys: ['bedrockctl-test-cookie-key'] },
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        const extra = accounts[id] || {};
        return {
          sub: id,
          email: `${id}@example.com`,
          email_verified: true,
          name: extra.name || id,
          preferred_username: id,
          groups: extra.groups || ['ml'],
        };
      },
    };
  },
});
provider.proxy = false;
provider.listen(Number(port), '127.0.0.1', () => { console.log('listening'); });
